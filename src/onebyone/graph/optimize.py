"""optimize(): run the chosen passes on a copy of a model, verifying after every one."""
import copy
import warnings

import torch

from ..errors import OneByOneError
from . import verify
from .cost import totals
from .load import load
from .passes import DEFAULT, PASSES
from .speed import denormals_flushed, time_models
from .state import settings_kept
from .trace import kept_whole, make_inputs, propagate, trace


def optimize(model, example_input=None, passes=DEFAULT, *, rank=None, energy=0.999,
             lossy_tolerance=0.05, speed=True, runs=7, n_random=2, seed=0):
    """A new torch.fx GraphModule computing what ``model`` computes, and a report.

    model: an nn.Module in eval mode, a torchvision model name or a model file (see load).
    example_input: a tensor, tuple of tensors or shape (default 1,3,224,224). passes: names
    from onebyone.graph.passes.PASSES, in any order (they run in PASSES order), or a comma
    string; "low_rank" (lossy, opt-in) uses rank / energy and is held to lossy_tolerance.
    After each pass the outputs on the example and n_random random inputs are compared with
    those before it (onebyone.graph.verify); a pass beyond tolerance is rolled back with a
    warning. speed=True times model and result interleaved (median of ``runs``). The report
    is plain data: per-pass changes and errors, params and MACs before/after, speed.
    The model itself is never run or changed: the reference outputs come from a deep copy
    (its buffers, lazy modules and requires_grad flags stay as they were), and torch's global
    settings (flush-denormal, grad mode, threads, default dtype, random stream) are restored.

    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), torch.nn.BatchNorm2d(8)).eval()
    >>> gm, report = optimize(model, (1, 3, 8, 8), speed=False)
    >>> [p["pass"] for p in report["passes"] if p["changed"]], report["after"]["params"]
    (['fold_bn', 'swap', 'memory_format'], 32)
    """
    with settings_kept(), denormals_flushed():  # random weights run ~50x faster flushed
        return _optimize(load(model), example_input, passes, rank, energy, lossy_tolerance,
                         speed, runs, n_random, seed)


def _optimize(model, example_input, passes, rank, energy, lossy_tolerance, speed, runs, n_random, seed):
    if type(model).__module__.startswith("onnx"):
        raise OneByOneError("expected a PyTorch model to optimize; got an ONNX model "
                            "(onebyone inspect reads ONNX files)")
    training = _first_in_training(model)
    if training is not None:
        raise OneByOneError(f"expected a model in eval mode (call model.eval()); got {training} "
                            "in training mode")
    names = _selected(passes)
    inputs = make_inputs(example_input, seed=seed)
    checks = verify.check_inputs(inputs, n_random, seed)
    # The reference runs on a copy, first (it initialises lazy modules, which the traced copy
    # then inherits): the user's buffers and lazy parameters never move.
    model = copy.deepcopy(model)
    reference = [_reference_run(model, inputs)] + verify.outputs(model, checks[1:])
    exact_tol = verify.tolerance(reference)
    gm, traced = _traced(model, inputs, checks, reference, exact_tol)
    steps, current, current_out = [], gm, traced
    for name in names:
        options = {"rank": rank, "energy": energy} if name == "low_rank" else {}
        tol = max(exact_tol, lossy_tolerance) if name == "low_rank" else exact_tol
        new, rep, out = _run(name, current, options, inputs, checks)
        if rep["changed"] == 0 and "failure" not in rep:  # same graph: nothing to verify or keep
            new, out = current, current_out
        rep["error"] = verify.error(current_out, out) if out is not None else float("inf")
        rep["tolerance"] = tol
        rep["kept"] = rep["error"] <= tol
        if rep["kept"]:
            current, current_out = new, out
        else:
            why = (f"it failed ({rep['failure']})" if "failure" in rep
                   else f"output error {rep['error']:.2e} exceeds tolerance {tol:.0e}")
            warnings.warn(f"onebyone.optimize: pass {name} rolled back: {why}", stacklevel=2)
        steps.append(rep)
    report = {"passes": steps, "before": totals(gm), "after": totals(current),
              "error": verify.error(reference, current_out), "tolerance": exact_tol,
              "input": [list(t.shape) for t in inputs], "speed": None,
              "kept_whole": [{"module": m, "reason": why} for m, why in kept_whole(gm).items()]}
    if speed:
        t = time_models({"before": model, "after": current}, inputs, runs=runs)
        report["speed"] = {"before_ms": t["before"] * 1e3, "after_ms": t["after"] * 1e3,
                           "speedup": t["before"] / t["after"], "runs": runs, "denormals": "flushed"}
    return current, report


def _run(name, gm, options, inputs, checks):
    """(new gm, report, outputs); a pass that crashes or breaks the graph is reported, not raised
    (outputs None), so a bug in a pass never costs the user their model."""
    try:
        new, rep = PASSES[name](gm, **options)
    except OneByOneError:  # bad options from the user: theirs to fix
        raise
    except Exception as e:
        return None, {"pass": name, "changed": 0, "details": [], "skipped": [], "failure": _line(e)}, None
    try:
        first = []  # the shape-recording run is also the check on the user's example
        new = propagate(new, inputs, keep_output=first)
        return new, rep, first + verify.outputs(new, checks[1:])
    except Exception as e:
        rep["failure"] = _line(e)
        return None, rep, None


def _traced(model, inputs, checks, reference, tol):
    """(graph, its outputs), the graph checked against the model: a trace can miss what eager
    code does (an in-place write through a second name, a buffer's update), and every pass is
    judged against the graph before it, so the graph itself must be the model."""
    first = []
    gm = propagate(trace(model), inputs, keep_output=first)
    outputs = first + verify.outputs(gm, checks[1:])
    found = verify.compare(reference, outputs)
    if not found["error"] <= tol:
        raise OneByOneError(f"expected a model torch.fx traces faithfully; its graph differs from "
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
                            f"{_line(e)}") from e


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


def _line(e):
    return f"{type(e).__name__}: {(str(e).strip() or '?').splitlines()[0]}"


def _selected(passes):
    if isinstance(passes, str):
        passes = [p.strip() for p in passes.split(",") if p.strip()]
    unknown = [p for p in passes if p not in PASSES]
    if unknown:
        raise OneByOneError(f"expected passes from {', '.join(PASSES)}; got {', '.join(map(repr, unknown))}")
    return [p for p in PASSES if p in passes]
