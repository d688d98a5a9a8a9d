"""Rewrites chosen per engine, then the fastest engine: what optimize(target=...) runs after
its passes.

A rewrite is only worth what it gains on the engine that runs it. Exact algebra that saves work
(BatchNorm folds, collapses that cut MACs) is always kept: the caller hands it over as ``base``.
The other passes change how the work is laid out, not how much there is, so each one is kept
for a target only if that target runs faster with it, by more than NOISE (a tie keeps the
simpler graph). Measured here: merging googlenet's parallel 1x1 convs makes onnxruntime ~5%
slower (the split after the merged conv costs copies there).

Which passes are tried per target (TRIED):
- torch: all three (merge_parallel, swap to Conv1x1, memory_format): building costs nothing;
- onnxruntime, openvino: merge_parallel only. Conv1x1 exports as the framework conv and an ONNX
  graph has no memory format, so swap and memory_format give the same ONNX graph;
- compile: none. Each trial would be another 10-45 s compile here.

Then every target also runs the model with no pass at all (the plain engines), and the last
timing holds both: the rewritten model on each target and the original on each. The fastest is
returned, whichever it is: rewrites that are exact on paper can still lose on an engine that
would have done the same itself (issue 16: regnet_y_400mf's rewrite ran at 0.73x of OpenVINO
on the original model).
"""
import torch

from ..errors import OneByOneError
from ..timing import interleaved
from .engines import available, build, missing, named
from .reports import Choice, Speed
from .settings import denormals_flushed

TRIED = {"torch": ("merge_parallel", "swap", "memory_format"), "compile": (),
         "onnxruntime": ("merge_parallel",), "openvino": ("merge_parallel",)}
# Interleaved medians of one run differ by a few percent between identical candidates here;
# a pass must beat that to stay.
NOISE = 0.03
# Candidates this close to the fastest in the timing of all are timed again among themselves.
CLOSE = 0.10
MODEL = "model"  # the user's model, timed beside the candidates (never one of them)


def time_models(models, example, runs=7, settle=1, budget_s=0.0):
    """{name: median seconds per call} of several models (engines) on the example tuple, in
    round-robin rounds (at least ``runs``, more until ``budget_s`` seconds have passed, at most
    10x runs); in each round every model first runs ``settle`` untimed calls.

    Engines bring their own thread pools (torch's OpenMP, inductor's kernels, onnxruntime's,
    OpenVINO's), whose workers keep spinning for a while after a call: timed right after another
    engine, a call competes with those workers for this machine's two cores (eager mobilenet_v2
    read 150 ms instead of 18 beside the others here). The untimed call lets them go idle, so
    each engine is timed in its own steady state, still interleaved with the others.

    >>> calls = []
    >>> t = time_models({"count": lambda x: calls.append(x)}, (torch.randn(8),), runs=3)
    >>> list(t), len(calls)  # one warm-up call, then 3 rounds of one untimed and one timed
    (['count'], 7)
    """
    calls = {name: (lambda model=model: model(*example)) for name, model in models.items()}
    with denormals_flushed(), torch.inference_mode():
        return interleaved(calls, warmup=1, min_rounds=runs, max_rounds=10 * runs,
                           budget_s=budget_s, settle=settle)


def for_target(target, base, optional, apply, example, reference, *, expected=None, runs=7,
               n_random=2, seed=0, progress=None):
    """(engine, graph, info) for one target: ``base`` built there, then each pass of
    ``optional`` tried on top (apply(graph, name) -> verified new graph, or None when the pass
    changes nothing or fails) and kept only if faster beyond NOISE. info: {"passes": kept,
    "trials": [{"pass", "with_ms", "without_ms", "kept"}]}. The engine is verified against
    ``reference`` (the user's model; ``expected``, its outputs, when the caller has them) by
    engines.build; a failure raises OneByOneError.
    """
    def make(graph):
        return build(target, graph, example, reference=reference, expected=expected,
                     n_random=n_random, seed=seed)

    _say(progress, f"{target}: export, warm-up, verify")
    engine, graph, info = make(base), base, {"passes": [], "trials": []}
    for name in (p for p in TRIED[target] if p in optional):
        candidate = apply(graph, name)
        if candidate is None:
            continue
        _say(progress, f"{target}: timing with and without {name}")
        try:
            other = make(candidate)
        except OneByOneError as e:  # the rewrite does not export or verify there: not kept
            info["trials"].append({"pass": name, "kept": False, "dropped": str(e)})
            continue
        t = time_models({"without": engine, "with": other}, example, runs=runs)
        kept = t["with"] < t["without"] * (1 - NOISE)
        info["trials"].append({"pass": name, "with_ms": t["with"] * 1e3,
                               "without_ms": t["without"] * 1e3, "kept": kept})
        if kept:
            engine, graph = other, candidate
            info["passes"].append(name)
    return engine, graph, info


def fastest(targets, base, optional, apply, example, reference, *, expected=None, plain=None,
            against=None, runs=7, n_random=2, seed=0, progress=None):
    """(engine, graph, report) of the fastest candidate: each of ``targets`` after for_target,
    and, when ``plain`` is given (plain(target) -> the model to build there, no passes), each
    target running that model as it is. All candidates are timed interleaved in one run, those
    within CLOSE of the fastest again among themselves ("final_ms"), and the fastest there is
    returned, so a rewrite that loses on an engine is dropped there; graph is None when a plain
    engine wins. report: a reports.Choice (targets whose package is not installed are skipped,
    not failed). Every engine is verified against ``reference``, or ``expected``, its outputs
    (see engines.build). ``against`` (optimize passes the user's model) runs in every timing
    too, never a candidate: report.speed is then it against the winner in the run that decided,
    so the speedup and the choice are one measurement."""
    targets = named(targets)
    installed = available()
    report = Choice()
    found, plain_found = {}, {}
    for target in targets:
        if target not in installed:
            report.skipped[target] = str(missing(target))
            continue
        try:
            found[target] = for_target(target, base, optional, apply, example, reference,
                                       expected=expected, runs=runs, n_random=n_random, seed=seed,
                                       progress=progress)
        except OneByOneError as e:
            report.targets[target] = {"dropped": str(e)}
        if plain is not None:
            _say(progress, f"{target} on the original model: export, warm-up, verify")
            try:
                plain_found[target] = build(target, plain(target), example, reference=reference,
                                            expected=expected, n_random=n_random, seed=seed)
            except OneByOneError as e:
                report.plain[target] = {"dropped": str(e)}
    candidates = {**{t: f[0] for t, f in found.items()}, **{(t, "plain"): e for t, e in plain_found.items()}}
    if not candidates:
        why = {**report.skipped, **{t: r["dropped"] for t, r in report.targets.items()}}
        raise OneByOneError("expected at least one target to run and verify; got none ("
                            + "; ".join(f"{t}: {r}" for t, r in why.items()) + ")")
    beside = {} if against is None else {MODEL: against}
    if len(candidates) > 1 or beside:
        _say(progress, f"timing {', '.join(map(_label, {**candidates, **beside}))} interleaved")
    times = time_models({**candidates, **beside}, example, runs=runs)
    # Within CLOSE of the best, the order is this shared machine's noise as much as the
    # engines': those finalists run again, head to head and twice as long, and that decides.
    best_ms = min(times[k] for k in candidates)
    close = {k: e for k, e in candidates.items() if times[k] <= best_ms * (1 + CLOSE)}
    final, rounds = dict(times), runs
    if len(close) > 1:
        _say(progress, f"timing {', '.join(map(_label, close))} again, head to head")
        final, rounds = time_models({**close, **beside}, example, runs=2 * runs), 2 * runs
    for key, engine in candidates.items():
        entry = {"ms": times[key] * 1e3, "warmup_s": engine.warmup_s, "error": engine.verified["error"],
                 "tolerance": engine.verified["tolerance"]}
        if len(close) > 1 and key in close:
            entry["final_ms"] = final[key] * 1e3
        if isinstance(key, tuple):
            report.plain[key[0]] = entry
        else:
            report.targets[key] = {**entry, **found[key][2]}
    best = min(close, key=final.get)
    if beside:
        report.speed = Speed(final[MODEL] * 1e3, final[best] * 1e3, rounds)
    report.plain_chosen = isinstance(best, tuple)
    report.target = best[0] if report.plain_chosen else best
    if report.plain_chosen:
        return candidates[best], None, report
    engine, graph, _ = found[best]
    return engine, graph, report


def _label(key):
    if key == MODEL:
        return "the model itself"
    return f"{key[0]} (original model)" if isinstance(key, tuple) else key


def _say(progress, step):
    if progress is not None:
        progress(step)
