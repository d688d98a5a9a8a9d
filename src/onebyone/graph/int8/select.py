"""optimize(precision="int8"): int8 candidates beside the fp32 result, the fastest within budget.

The float graph optimize's passes made is exported once and quantized (graph.int8.quantize); the layers
that run int8 are searched on the first int8 target (graph.int8.search), the same QDQ model is
then built and judged on the other int8 targets. The fp32 result, the float engine and the int8
engine on each int8 target run interleaved in one timing run; the fastest int8 candidate within
budget is returned if it beats the fp32 result by more than the timing noise (targets.NOISE);
when the first run puts them within targets.CLOSE, they are timed again head to head and that
decides (report["final_ms"]).
Int8 that is not faster, or that cannot meet the budget, is not returned: the report says
which and why.

An int8 engine is verified within the budget, not within the exact float tolerance: its
``verified`` holds the held-out inputs, the float model's outputs and the relative bound (the
budget's, or its own measured error when the budget is the user's metric), so save() re-checks
the re-loaded artifact against the float model inside the engine, NaN-aware.
"""
import math
import time

from ...errors import OneByOneError
from .. import engines, verify
from ..engines.base import Signature
from ..engines.export import onnx_bytes
from ..reports import Int8Report, Speed
from ..targets import CLOSE, MODEL, NOISE, time_models
from .budget import Budget
from .quantize import Quantizer, int8_layers
from .samples import split
from .search import search

TARGETS = ("onnxruntime", "openvino")  # the engines that run a QDQ model in int8


def check_targets(targets):
    """The int8-capable targets among ``targets``, or one OneByOneError before any work."""
    found = [t for t in targets if t in TARGETS]
    if not found:
        raise OneByOneError(f"expected a target with int8 support ({', '.join(TARGETS)} or auto) "
                            f"for precision='int8'; got {', '.join(targets)}")
    return found


def prepare(targets, example, calibration=None, held_out=None, budget=None, preprocess=None, seed=0):
    """Everything the user gave for int8, read and checked before any work: {"targets",
    "budget", "calibration", "held_out", "words"}; bad input is one OneByOneError."""
    wanted = check_targets(targets)
    budget = Budget(budget)
    calib, held, words = split(calibration, held_out, example, preprocess, seed)
    return {"targets": wanted, "budget": budget, "calibration": calib, "held_out": held, "words": words}


def select(graph, model, example, plan, fp32, runs=7, against=None, progress=None):
    """(engine or graph, target, report, speed) of the fastest within budget among optimize's
    fp32 choice, fp32 = (its engine or graph, its target), and the int8 candidates of ``plan``
    (from prepare) built from ``graph``; ``model`` is the float reference. ``against``, if
    given, runs in every timing too (never a candidate): speed is then a reports.Speed of it
    against what is returned in the run that decided, else None."""
    say = progress or (lambda step: None)
    budget, calib, held, words = plan["budget"], plan["calibration"], plan["held_out"], plan["words"]
    wanted = [t for t in plan["targets"] if t in engines.available()]
    if not wanted:
        raise engines.missing(plan["targets"][0])  # the first asked for: its extra brings it
    reference = verify.outputs(model, held)  # optimize passes its own copy
    fp32_engine, fp32_target = fp32
    signature = Signature.of(tuple(example), verify.outputs(graph, [tuple(example)])[0])
    say("int8: export the float graph")
    data = onnx_bytes(graph, tuple(example))
    quantizer = Quantizer(data, calib)

    def judge(outputs):
        return budget.judge(reference, outputs)

    def evaluate_on(target):
        def evaluate(qdq):
            start = time.perf_counter()
            engine = engines.from_onnx(target, qdq, signature)
            outputs = [engine(*x) for x in held]
            engine.warmup_s = time.perf_counter() - start
            return engine, outputs
        return evaluate

    found = search(quantizer, evaluate_on(wanted[0]), judge, say)
    candidates = {wanted[0]: found}
    for target in wanted[1:]:
        say(f"int8: {target}")
        engine, outputs = evaluate_on(target)(found["data"])
        verdict = judge(outputs)
        if not found["met"]:  # the layers were chosen on wanted[0]; the report speaks of them
            verdict = {**verdict, "met": False, "why": f"the layer search on {wanted[0]} could "
                       f"not meet the budget ({found['verdict']['why']})"}
        candidates[target] = {"data": found["data"], "engine": engine, "verdict": verdict}
    for c in candidates.values():
        _verified(c, held, reference, budget)
    floats = {t: fp32_engine if t == fp32_target else _float_engine(t, data, signature, model, example)
              for t in wanted}
    say("int8: timing float and int8 interleaved")
    timed = {f"fp32 {fp32_target}": fp32_engine, **{f"float {t}": e for t, e in floats.items()},
             **{f"int8 {t}": c["engine"] for t, c in candidates.items() if c["verdict"]["met"]}}
    beside = {} if against is None else {MODEL: against}
    ms = {k: v * 1e3 for k, v in time_models({**timed, **beside}, tuple(example), runs=runs).items()}
    report = _report(quantizer, found, candidates, ms, fp32_target, words, budget)
    final = _head_to_head(timed, ms, f"fp32 {fp32_target}", example, runs, beside, say)
    if final:
        report.final_ms = {k: t for k, t in final.items() if k != MODEL}
    decided = final or ms  # one run's figures, never mixed
    engine, target, report = _chosen(report, candidates, fp32, decided)
    returned = f"int8 {target}" if report.returned == "int8" else f"fp32 {fp32_target}"
    speed = Speed(decided[MODEL], decided[returned], 2 * runs if final else runs) if beside else None
    return engine, target, report, speed


def _head_to_head(timed, ms, fp32_key, example, runs, beside, say):
    """{name: ms} of the fp32 result and the int8 candidates within CLOSE of the fastest of
    them, timed again among themselves for twice as long; {} when the first run already
    separates fp32 from int8. That close, one interleaved pass over every engine measures this
    shared machine as much as the engines (targets.fastest decides its finalists the same way),
    and returning int8 on a tie would cost its error for nothing."""
    int8_keys = [k for k in ms if k.startswith("int8 ")]
    if not int8_keys:
        return {}
    fastest = min(ms[k] for k in (fp32_key, *int8_keys))
    finalists = [k for k in (fp32_key, *int8_keys) if ms[k] <= fastest * (1 + CLOSE)]
    if fp32_key not in finalists or len(finalists) < 2:
        return {}
    say(f"int8: timing {', '.join(finalists)} again, head to head")
    again = time_models({**{k: timed[k] for k in finalists}, **beside}, tuple(example), runs=2 * runs)
    return {k: t * 1e3 for k, t in again.items()}


def _float_engine(target, data, signature, model, example):
    start = time.perf_counter()
    engine = engines.from_onnx(target, data, signature)
    engine(*example)
    engine.warmup_s = time.perf_counter() - start
    return engines.verify(engine, model, example)  # the exact proof, as for every float engine


def _verified(candidate, held, reference, budget):
    v = candidate["verdict"]
    tolerance = budget.relative if budget.relative is not None else v["error"] * 1.01
    if not math.isfinite(tolerance):  # never a bound that passes anything (judge misses it anyway)
        tolerance = 0.0
    candidate["engine"].verified = {"inputs": held, "reference": reference, "error": v["error"],
                                    "tolerance": tolerance, "budget": budget.describe()}


def _chosen(report, candidates, fp32, ms):
    fp32_engine, fp32_target = fp32
    fp32_ms = ms[f"fp32 {fp32_target}"]
    # ms is the head-to-head run's when there was one: only its finalists are compared
    met = {t: ms[f"int8 {t}"] for t, c in candidates.items()
           if c["verdict"]["met"] and f"int8 {t}" in ms}
    best = min(met, key=met.get) if met else None
    # int8 must beat fp32 beyond the timing noise: a tie keeps the exact float result
    if best is not None and met[best] < fp32_ms * (1 - NOISE):
        report.returned = "int8"
        report.why = (f"int8 on {best} ({met[best]:.2f} ms) is within the budget and faster than "
                         f"the fp32 result on {fp32_target} ({fp32_ms:.2f} ms)")
        return candidates[best]["engine"], best, report
    report.returned = "fp32"
    if best is None:
        misses = "; ".join(f"{t}: {c['verdict']['why']}" for t, c in candidates.items())
        report.why = (f"the budget cannot be met, even with layers kept float ({misses}): the "
                         f"float result on {fp32_target} is returned")
    else:
        report.why = (f"int8 on {best} ({met[best]:.2f} ms) does not beat the fp32 result on "
                         f"{fp32_target} ({fp32_ms:.2f} ms) by more than {NOISE:.0%}: the float "
                         "result is returned")
    return fp32_engine, fp32_target, report


def _report(quantizer, found, candidates, ms, fp32_target, words, budget):
    in_int8 = int8_layers(found["data"])
    kept = {k["node"]: k for k in found["kept_float"]}
    layers = []
    for layer in quantizer.layers:
        if not found["met"]:
            in_int8, why = set(), "float: the budget cannot be met (the float result is returned)"
        elif layer["node"] in kept:
            k = kept[layer["node"]]
            why = (f"kept float: among the layers costing most error (the model's error "
                   f"{k['error_int8']:.1e} all int8, {k['error_float']:.1e} with this one float)")
        elif layer["node"] in in_int8:
            why = "int8: the model is within the budget with it in int8"
        else:
            why = "float: onnxruntime.quantization does not quantize it"
        layers.append({**layer, "precision": "int8" if layer["node"] in in_int8 else "float", "why": why})
    total = quantizer.total_macs
    per_target = {}
    for target, c in candidates.items():
        row = {k: c["verdict"][k] for k in ("met", "error", "agreement", "why")}
        row["float_ms"] = ms[f"float {target}"]
        row["int8_ms"] = ms.get(f"int8 {target}")
        row["speedup"] = row["float_ms"] / row["int8_ms"] if row["int8_ms"] else None
        row["warmup_s"] = c["engine"].warmup_s
        per_target[target] = row
    in_int8 = sum(r["macs"] for r in layers if r["precision"] == "int8")
    return Int8Report(
        **words, budget=budget.describe(), layers=layers,
        int8_macs_share=in_int8 / total if total else 0.0, reduce_range=found["reduce_range"],
        builds=found["builds"], met=found["met"], targets=per_target,
        fp32={"target": fp32_target, "ms": ms[f"fp32 {fp32_target}"]},
        verified="within the budget on the held-out inputs, inside the engine (not the exact "
                 "float tolerance: int8 changes the numbers by design)")
