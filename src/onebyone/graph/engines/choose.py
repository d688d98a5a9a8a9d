"""Try several targets on one model and keep the fastest: build and verify each, then time them
interleaved round-robin on the example (medians), every engine with subnormals flushed.

A target whose package is missing is skipped and a target that fails to export, run or verify is
dropped; both are reported with the reason. Only verified engines are timed.
"""
import torch

from ...errors import OneByOneError
from ..speed import time_models
from . import TARGETS, available, build


def fastest(model, example, targets=None, *, reference=None, runs=15, n_random=2, seed=0,
            progress=None):
    """(the fastest verified engine, report) among ``targets`` (default: every installed one).

    report: {"target": name, "targets": {name: {"ms", "warmup_s", "error", "tolerance"} or
    {"dropped": why}}, "skipped": {name: why}}. progress(step: str), if given, hears each step.

    >>> m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1)).eval()
    >>> engine, report = fastest(m, (torch.randn(1, 3, 8, 8),), ["torch"], runs=3)
    >>> report["target"], sorted(report["targets"]["torch"])
    ('torch', ['error', 'ms', 'tolerance', 'warmup_s'])
    """
    installed = available()
    targets = list(installed if targets is None else targets)
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise OneByOneError(f"expected targets from {', '.join(TARGETS)}; got {', '.join(map(repr, unknown))}")
    report = {"target": None, "targets": {}, "skipped": {}}
    engines = {}
    for target in targets:
        if target not in installed:
            extra = TARGETS[target][2]
            report["skipped"][target] = f"not installed (pip install 'onebyone[{extra}]')"
            continue
        _say(progress, f"{target}: export, warm-up, verify")
        try:
            engines[target] = build(target, model, example, reference=reference,
                                    n_random=n_random, seed=seed)
        except OneByOneError as e:
            report["targets"][target] = {"dropped": str(e)}
    if not engines:
        raise OneByOneError(f"expected at least one target to run and verify; got none of "
                            f"{', '.join(targets)} ({_reasons(report)})")
    _say(progress, f"timing {', '.join(engines)} interleaved")
    times = time_models(engines, tuple(example), runs=runs)
    for target, engine in engines.items():
        report["targets"][target] = {"ms": times[target] * 1e3, "warmup_s": engine.warmup_s,
                                     "error": engine.verified["error"],
                                     "tolerance": engine.verified["tolerance"]}
    report["target"] = min(times, key=times.get)
    return engines[report["target"]], report


def _say(progress, step):
    if progress is not None:
        progress(step)


def _reasons(report):
    why = {**report["skipped"], **{t: r["dropped"] for t, r in report["targets"].items()}}
    return "; ".join(f"{t}: {r}" for t, r in why.items()) or "no targets given"
