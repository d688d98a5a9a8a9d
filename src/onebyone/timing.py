"""Timing on a shared, noisy machine: candidates interleaved round-robin, medians compared.

Absolute times drift by 2x between runs here, so candidates are only ever compared inside one
run, each round timing every candidate once, in a rotating order.
"""
import statistics
import time


def interleaved(candidates, *, warmup=2, min_rounds=5, max_rounds=50, budget_s=0.5, settle=0):
    """Median seconds per call of each zero-argument callable in `candidates` (a dict).

    Rounds continue until `min_rounds` are done and `budget_s` is spent, or `max_rounds`. In
    each round every candidate first runs `settle` untimed calls before its timed one: engines
    with their own thread pools need it (see onebyone.graph.targets.time_models).

    >>> t = interleaved({"sum": lambda: sum(range(100)), "nothing": lambda: None}, min_rounds=3)
    >>> sorted(t) == ["nothing", "sum"] and t["nothing"] < t["sum"]
    True

    With `settle`, each timed call follows its untimed ones:

    >>> calls = []
    >>> _ = interleaved({"a": lambda: calls.append("a")}, warmup=0, min_rounds=2, max_rounds=2,
    ...                 settle=2)
    >>> len(calls)
    6
    """
    names = list(candidates)
    for _ in range(warmup):
        for name in names:
            candidates[name]()
    samples = {name: [] for name in names}
    start = time.perf_counter()
    for r in range(max_rounds):
        if r >= min_rounds and time.perf_counter() - start > budget_s:
            break
        order = names[r % len(names):] + names[: r % len(names)]  # rotate: no fixed position bias
        for name in order:
            for _ in range(settle):
                candidates[name]()
            t0 = time.perf_counter()
            candidates[name]()
            samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(s) for name, s in samples.items()}
