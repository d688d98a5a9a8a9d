"""optimize(): run the chosen passes on a copy of a model, verifying after every one, then hand
the result to an engine (torch, torch.compile, onnxruntime, OpenVINO), verified inside it."""
from ..errors import OneByOneError
from . import engines, int8, leaves, targets, verify
from .baseline import baseline, torch_model
from .cost import totals
from .load import load
from .passes import DEFAULT, PASSES
from .reports import Choice, OptimizeReport
from .settings import denormals_flushed, settings_kept
from .steps import applier, run_verified
from .trace import make_inputs

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
    also times the model itself beside the candidates, and report["speed"] is it against the
    result in the run that chose the result (medians of ``runs`` rounds, 2 x runs when the
    finalists were timed again head to head). The report is a reports.OptimizeReport: it reads
    as a mapping, and .to_dict() is its JSON as plain data. progress(step), if
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
    wanted = engines.named(target)  # bad arguments are errors before any work
    names = _selected(passes)
    if precision not in ("fp32", "int8"):
        raise OneByOneError(f"expected precision 'fp32' or 'int8'; got {precision!r}")
    say = progress or (lambda step: None)
    timed = speed or wanted != ["torch"]  # choosing the passes per engine needs timing
    with settings_kept(), denormals_flushed():  # random weights run ~50x faster flushed
        model = load(model)
        inputs = make_inputs(example_input, seed=seed)
        model, onnx_reference = torch_model(model, inputs, say)  # converted, checked in eval mode
        plan = None if precision == "fp32" else int8.prepare(  # the user's int8 data, before any work
            wanted, inputs, calibration=calibration, held_out=held_out, budget=budget,
            preprocess=preprocess, seed=seed)
        start = baseline(model, inputs, n_random, seed, onnx_reference, say)

        # 1. The passes that cut work, each verified (all of them when nothing is timed).
        steps = []
        graph, outputs = _passes(start, [n for n in names if not timed or n not in LAYOUT], steps,
                                 rank, energy, lossy_tolerance, say)

        # 2. The engine: every target with the layout passes that pay there, and every engine on
        # the model as it is, timed interleaved; the fastest wins (untimed: the graph itself).
        # The model itself runs beside them in the last race (this one, or int8's), so the
        # speedup reported is the run that chose the result.
        engine = None
        if timed:
            engine, graph, choice, rewritten = _fastest(
                start, graph, outputs, steps, [n for n in names if n in LAYOUT], wanted,
                against=start.reference if speed and plan is None else None, runs=runs,
                n_random=n_random, seed=seed, say=say)
            result = graph if choice.target == "torch" else engine  # torch: the graph itself
        else:
            result = graph
            choice = Choice("torch", targets={"torch": {
                "error": verify.error(start.expected, outputs), "tolerance": start.tolerance}})

        # 3. int8 (opt-in): the rewritten graph quantized, kept if within budget and faster.
        int8_report = None
        if plan is not None:
            result, choice.target, int8_report, choice.speed = int8.select(
                rewritten, start.reference, inputs, plan, (result, choice.target), runs=runs,
                against=start.reference if speed else None, progress=say)
            if int8_report.returned == "int8":
                graph, choice.plain_chosen = rewritten, False

        report = _report(start, steps, graph, choice, result, int8_report)
        if as_engine and not isinstance(result, engines.Engine):  # torch's graph, ready to save
            result = engine if engine is not None else engines.build(
                "torch", result, inputs, reference=start.reference, expected=start.expected,
                n_random=n_random, seed=seed)
        return result, report


def _passes(start, names, steps, rank, energy, lossy_tolerance, say):
    """(graph, its outputs on the check inputs) after each pass of ``names`` in turn, each
    verified against the graph before it (graph.steps); their reports go to ``steps``."""
    graph, outputs = start.graph, start.outputs
    for name in names:
        say(f"pass {name}")
        options = {"rank": rank, "energy": energy} if name == "low_rank" else {}
        tol = max(start.tolerance, lossy_tolerance) if name == "low_rank" else start.tolerance
        graph, outputs, step = run_verified(name, graph, outputs, options, tol, start.inputs,
                                            start.checks)
        steps.append(step)
    return graph, outputs


def _fastest(start, graph, outputs, steps, layout, wanted, *, against, runs, n_random, seed, say):
    """(engine, its graph, Choice, the rewritten graph int8 starts from) of graph.targets.fastest
    over ``wanted``: each target tries the ``layout`` passes on ``graph`` (their reports go to
    ``steps``), and each also runs the model with no pass at all (torch: the traced graph, like
    every torch result; the others: the model as it is, an ONNX file's onnx2torch conversion)."""
    apply = applier(graph, outputs, start.tolerance, start.inputs, start.checks, steps, say)
    engine, chosen, choice = targets.fastest(
        wanted, graph, layout, apply, start.inputs, start.reference, expected=start.expected,
        plain=lambda t: start.graph if t == "torch" else start.model, against=against,
        runs=runs, n_random=n_random, seed=seed, progress=say)
    if choice.plain_chosen:  # no graph of ours won; int8 then quantizes the passes' graph
        return engine, start.graph, choice, graph
    return engine, chosen, choice, chosen


def _report(start, steps, graph, choice, result, int8_report):
    precision = "int8" if int8_report is not None and int8_report.returned == "int8" else "fp32"
    if precision == "int8":  # verified within the budget, not the exact tolerance (and its
        # target's fp32 entry may be a drop: the int8 engine stands on its own proof)
        error, tolerance = result.verified["error"], result.verified["tolerance"]
    else:
        entry = (choice.plain if choice.plain_chosen else choice.targets)[choice.target]
        error, tolerance = entry["error"], start.tolerance
    return OptimizeReport(
        passes=steps, before=totals(start.graph), after=totals(graph), error=error,
        tolerance=tolerance, precision=precision, input=[list(t.shape) for t in start.inputs],
        target=choice.target, plain_chosen=choice.plain_chosen, targets=choice.targets,
        plain=choice.plain, skipped=choice.skipped, int8=int8_report, speed=choice.speed,
        kept_whole=leaves.rows(start.graph))


def _selected(passes):
    if isinstance(passes, str):
        passes = [p.strip() for p in passes.split(",") if p.strip()]
    unknown = [p for p in passes if p not in PASSES]
    if unknown:
        raise OneByOneError(f"expected passes from {', '.join(PASSES)}; got {', '.join(map(repr, unknown))}")
    return [p for p in PASSES if p in passes]
