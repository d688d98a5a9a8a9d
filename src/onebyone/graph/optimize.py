"""optimize(): run the chosen passes on a copy of a model, verifying after every one, then hand
the result to an engine (torch, torch.compile, onnxruntime, OpenVINO), verified inside it."""
import copy

import torch

from ..errors import OneByOneError, cause_line
from . import engines, int8, leaves, onnx_convert, targets, verify
from .cost import totals
from .load import load
from .passes import DEFAULT, PASSES
from .reports import Choice, OptimizeReport, Speed
from .settings import denormals_flushed, settings_kept
from .steps import applier, run_verified
from .trace import make_inputs, propagate, trace

# Passes that change how the work is laid out, not how much of it there is: each is kept for a
# target only where that target runs faster with it (graph.targets). The others (BatchNorm
# folds, collapses that cut MACs, the opt-in low_rank) are always kept.
LAYOUT = ("merge_parallel", "swap", "memory_format")


def optimize(model, example_input=None, passes=DEFAULT, *, target="torch", precision="fp32",
             calibration=None, budget=None, held_out=None, preprocess=None, rank=None, energy=0.999,
             lossy_tolerance=0.05, speed=True, runs=7, n_random=2, seed=0, progress=None,
             as_engine=False):
    """The model rewritten and handed to an engine, verified there, and a report.

    model: an nn.Module in eval mode, a torchvision model name or a model file (see load); an
    ONNX model is converted by onnx2torch (graph.onnx_convert) and every step is proven against
    onnxruntime running the model itself, whose symbolic dims the example fills.
    example_input: a tensor, tuple of tensors or shape (default 1,3,224,224). passes: names
    from onebyone.graph.passes.PASSES, in any order (they run in PASSES order), or a comma
    string; "low_rank" (lossy, opt-in) uses rank / energy and is held to lossy_tolerance.
    After each pass the outputs on the example and n_random random inputs are compared with
    those before it (onebyone.graph.verify); a pass beyond tolerance is rolled back with a
    warning. The model itself is never run or changed: the reference outputs come from a deep
    copy (its buffers, lazy modules and requires_grad flags stay as they were), and torch's
    global settings (flush-denormal, grad mode, threads, default dtype, random stream) are restored.

    target: "torch" gives the rewritten torch.fx GraphModule; "compile", "onnxruntime" and
    "openvino" give an nn.Module around that engine's session, called like the model on torch
    tensors of the example's shapes; "auto" tries every installed target and keeps the fastest.
    Passes that only change how the work is laid out (LAYOUT) are kept for a target only where
    it runs faster with them (onebyone.graph.targets); with target="torch" and speed=False
    nothing is timed and every verified pass is kept. Otherwise each target also runs the model
    without any pass (torch: the traced graph), and the fastest of all, timed interleaved, is
    returned: a rewrite that loses on an engine is dropped there (report["plain_chosen"]). The
    result is verified inside its engine against the model. report["target"] is the target
    returned; report["targets"] has per target its time, warm-up, error and the layout passes it
    kept, or why it was dropped, report["plain"] the same for the plain engines. speed=True
    also times the model and the result interleaved (median of ``runs``). progress(step), if
    given, hears each step (trace, passes, export, warm-up, timing). as_engine=True gives an
    engine for target torch too (the TorchEngine its graph was timed and verified in, or one
    built on the outputs already computed), ready to save: what the CLI writes.

    precision="int8" (opt-in; "fp32" is the default) adds int8 candidates on the int8 engines
    among the targets (onnxruntime, openvino; target "auto" or one of them): the fp32 result's
    graph quantized by onnxruntime.quantization (static QDQ, weights per channel), calibrated
    on ``calibration`` (a directory of images, preprocessed by preprocess=dict(mean=, std=,
    size=), a .npy/.pt tensor file, an iterable of tensors or tuples; random inputs when None,
    and the report says so), judged on ``held_out`` inputs (same forms; default: part of the
    calibration data, or fresh random inputs) against ``budget`` (None: a relative error bound
    and top-1 agreement; a number: that relative bound; a callable(float_outputs,
    int8_outputs) -> bool). Layers costing most error are kept float until the budget is met.
    The fastest fp32 or within-budget int8 candidate is returned; report["precision"] says
    which, report["int8"] says per layer what ran int8 and why (onebyone.graph.int8).

    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), torch.nn.BatchNorm2d(8)).eval()
    >>> gm, report = optimize(model, (1, 3, 8, 8), speed=False)
    >>> [p["pass"] for p in report["passes"] if p["changed"]], report["after"]["params"]
    (['fold_bn', 'swap', 'memory_format'], 32)
    >>> engine, report = optimize(model, (1, 3, 8, 8), target="onnxruntime", runs=3)
    >>> report["target"], engine(torch.randn(1, 3, 8, 8)).shape
    ('onnxruntime', torch.Size([1, 8, 8, 8]))
    """
    wanted = engines.named(target)  # a bad target is an error before any work
    if precision not in ("fp32", "int8"):
        raise OneByOneError(f"expected precision 'fp32' or 'int8'; got {precision!r}")
    int8_options = None if precision == "fp32" else {
        "calibration": calibration, "held_out": held_out, "budget": budget, "preprocess": preprocess}
    with settings_kept(), denormals_flushed():  # random weights run ~50x faster flushed
        return _optimize(load(model), example_input, passes, wanted, rank, energy, lossy_tolerance,
                         speed, runs, n_random, seed, progress, int8_options, as_engine)


def _optimize(model, example_input, passes, wanted, rank, energy, lossy_tolerance, speed, runs,
              n_random, seed, progress, int8_options, as_engine):
    say = progress or (lambda step: None)
    names = _selected(passes)
    inputs = make_inputs(example_input, seed=seed)
    original = None
    if onnx_convert.is_onnx(model):
        # the passes rewrite the file's onnx2torch graph; onnxruntime running the file itself
        # is the model every step and every engine is proven against
        say("convert ONNX to torch.fx")
        original, model = onnx_convert.reference(model, inputs), onnx_convert.to_torch(model, inputs)
    training = _first_in_training(model)
    if training is not None:
        raise OneByOneError(f"expected a model in eval mode (call model.eval()); got {training} "
                            "in training mode")
    plan = None if int8_options is None else int8.prepare(wanted, inputs, seed=seed,
                                                          **int8_options)  # before any work
    checks = verify.check_inputs(inputs, n_random, seed)
    # The reference runs on a copy, first (it initialises lazy modules, which the traced copy
    # then inherits): the user's buffers and lazy parameters never move.
    model = copy.deepcopy(model)
    original = model if original is None else original
    reference = [_reference_run(original, inputs)] + verify.outputs(original, checks[1:])
    exact_tol = verify.tolerance(reference)
    say("trace")
    faithful = "a model torch.fx traces" if original is model else "an ONNX model onnx2torch converts"
    gm, traced = _traced(model, inputs, checks, reference, exact_tol, faithful)
    per_target = speed or wanted != ["torch"]  # choosing passes per target needs timing
    steps, current, current_out, engine = [], gm, traced, None
    for name in names if not per_target else [n for n in names if n not in LAYOUT]:
        say(f"pass {name}")
        options = {"rank": rank, "energy": energy} if name == "low_rank" else {}
        tol = max(exact_tol, lossy_tolerance) if name == "low_rank" else exact_tol
        current, current_out, rep = run_verified(name, current, current_out, options, tol, inputs, checks)
        steps.append(rep)
    if per_target:
        apply = applier(current, current_out, exact_tol, inputs, checks, steps, say)
        # The plain engines (no passes) are candidates too: torch runs the traced graph (a
        # GraphModule, like every torch result), the others export the model as it is (an ONNX
        # file's: its onnx2torch conversion, as the passes see it).
        passed = current  # the verified passes' graph, before any layout pass
        result, current, chosen = targets.fastest(
            wanted, current,
            [n for n in names if n in LAYOUT], apply, inputs, original, expected=reference,
            plain=lambda t: gm if t == "torch" else model, runs=runs, n_random=n_random,
            seed=seed, progress=say)
        # fastest gives no graph when a plain engine won: int8 then quantizes the passes' graph
        rewritten = passed if current is None else current
        current = gm if chosen["plain_chosen"] else current
        engine = result if chosen["target"] == "torch" else None  # the graph's, for as_engine
        result = current if chosen["target"] == "torch" else result  # torch: the graph itself
        error = (chosen.plain if chosen.plain_chosen else chosen.targets)[chosen.target]["error"]
        int8_report = None
        if plan is not None:  # int8 quantizes the rewritten graph, whichever fp32 engine won
            result, chosen.target, int8_report = int8.select(
                rewritten, original, inputs, plan, (result, chosen.target), runs=runs, progress=say)
            if int8_report.get("returned") == "int8":
                current, chosen.plain_chosen = rewritten, False
    else:
        result, error, int8_report = current, verify.error(reference, current_out), None
        chosen = Choice("torch", targets={"torch": {"error": error, "tolerance": exact_tol}})
    precision = "int8" if (int8_report or {}).get("returned") == "int8" else "fp32"
    if precision == "int8":  # verified within the budget, not the exact tolerance
        error, exact_tol = result.verified["error"], result.verified["tolerance"]
    report = OptimizeReport(
        passes=steps, before=totals(gm), after=totals(current), error=error, tolerance=exact_tol,
        precision=precision, input=[list(t.shape) for t in inputs], target=chosen.target,
        plain_chosen=chosen.plain_chosen, targets=chosen.targets, plain=chosen.plain,
        skipped=chosen.skipped, int8=int8_report, kept_whole=leaves.rows(gm))
    if speed:
        say("timing the model and the result")
        t = targets.time_models({"before": original, "after": result}, inputs, runs=runs)
        report.speed = Speed(t["before"] * 1e3, t["after"] * 1e3, runs)
    if as_engine and not isinstance(result, engines.Engine):  # torch's graph
        result = engine if engine is not None else engines.build(
            "torch", result, inputs, reference=original, expected=reference, n_random=n_random, seed=seed)
    return result, report


def _traced(model, inputs, checks, reference, tol, faithful):
    """(graph, its outputs), the graph checked against the model: a trace can miss what eager
    code does (an in-place write through a second name, a buffer's update), and every pass is
    judged against the graph before it, so the graph itself must be the model."""
    first = []
    gm = propagate(trace(model), inputs, keep_output=first)
    outputs = first + verify.outputs(gm, checks[1:])
    found = verify.compare(reference, outputs)
    if not found["error"] <= tol:
        raise OneByOneError(f"expected {faithful} faithfully; its graph differs from "
                            f"the model at output {found['worst']} ({found['why']}: error "
                            f"{found['error']:.2e}, tolerance {tol:.0e})")
    return gm, outputs


@torch.no_grad()
def _reference_run(model, inputs):
    """model's output on the example; an input it rejects is the user's error, with torch's
    cause on one line (before torch.fx, whose failures print its generated code)."""
    try:
        return model(*inputs)
    except Exception as e:
        shapes = [list(t.shape) for t in inputs]
        raise OneByOneError(f"expected an input the model accepts; it rejected shapes {shapes}: "
                            f"{cause_line(e)}") from e


def _first_in_training(model):
    """'features.3 (Dropout2d)' for the first module in training mode, else None. Of a
    GraphModule only the modules its graph calls count: export's holders have no mode."""
    if isinstance(model, torch.fx.GraphModule):
        named = [(f"{t}.{n}".rstrip("."), m)
                 for t in dict.fromkeys(n.target for n in model.graph.nodes if n.op == "call_module")
                 if t != "_guards_fn" for n, m in model.get_submodule(t).named_modules()]
    else:
        named = model.named_modules()
    for name, m in named:
        if m.training:
            return f"{name!r} ({type(m).__name__})" if name else f"the model ({type(m).__name__})"
    return None


def _selected(passes):
    if isinstance(passes, str):
        passes = [p.strip() for p in passes.split(",") if p.strip()]
    unknown = [p for p in passes if p not in PASSES]
    if unknown:
        raise OneByOneError(f"expected passes from {', '.join(PASSES)}; got {', '.join(map(repr, unknown))}")
    return [p for p in PASSES if p in passes]
