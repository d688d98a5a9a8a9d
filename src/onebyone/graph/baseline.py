"""What optimize proves every step against, set up once: the model's outputs on the check
inputs, and its traced graph, checked equal to it.

The model itself is never run or changed: the reference runs on a deep copy, first (it
initialises lazy modules, which the traced copy then inherits), so the user's buffers, lazy
parameters and requires_grad flags stay as they were. An ONNX file is converted by onnx2torch
for the passes, and onnxruntime running the file itself is the reference.
"""
import copy
from dataclasses import dataclass

import torch

from ..errors import OneByOneError, cause_line
from . import onnx_convert, verify
from .trace import propagate, trace


@dataclass
class Baseline:
    reference: object  # what every step is proven against: the model's copy, or the ONNX file run
    model: torch.nn.Module  # the torch model the passes start from (a copy, or the conversion)
    graph: torch.fx.GraphModule  # the model traced, its outputs checked against reference's
    inputs: tuple  # the example
    checks: list  # the example, then n_random random inputs of its shapes (verify.check_inputs)
    expected: list  # reference's outputs on checks
    outputs: list  # graph's outputs on checks
    tolerance: float  # the exact tolerance for expected's dtypes (verify.tolerance)


def torch_model(model, inputs, progress=None):
    """(the torch model the passes start from, the ONNX reference or None): an ONNX model is
    converted by onnx2torch, and onnxruntime running it is then the reference. The cheap checks
    come first, before the caller reads anything else: a model in training mode is one
    OneByOneError.

    >>> model, reference = torch_model(torch.nn.Conv2d(3, 4, 1).eval(), (torch.randn(1, 3, 5, 5),))
    >>> type(model).__name__, reference
    ('Conv2d', None)
    """
    reference = None
    if onnx_convert.is_onnx(model):
        (progress or (lambda step: None))("convert ONNX to torch.fx")
        reference, model = onnx_convert.reference(model, inputs), onnx_convert.to_torch(model, inputs)
    training = _first_in_training(model)
    if training is not None:
        raise OneByOneError(f"expected a model in eval mode (call model.eval()); got {training} "
                            "in training mode")
    return model, reference


def baseline(model, inputs, n_random=2, seed=0, reference=None, progress=None):
    """The Baseline of ``model`` (an nn.Module in eval mode, as torch_model gives it; its ONNX
    ``reference``, if any) on the example ``inputs``; an input it rejects or a graph that
    differs from it is one OneByOneError.

    >>> b = baseline(torch.nn.Conv2d(3, 4, 1).eval(), (torch.randn(1, 3, 5, 5),))
    >>> len(b.checks), b.tolerance, b.graph is not b.model
    (3, 0.0001, True)
    """
    say = progress or (lambda step: None)
    checks = verify.check_inputs(inputs, n_random, seed)
    model = copy.deepcopy(model)
    faithful = "a model torch.fx traces" if reference is None else "an ONNX model onnx2torch converts"
    reference = model if reference is None else reference
    expected = [_first_run(reference, inputs)] + verify.outputs(reference, checks[1:])
    tolerance = verify.tolerance(expected)
    say("trace")
    graph, outputs = _traced(model, inputs, checks, expected, tolerance, faithful)
    return Baseline(reference, model, graph, inputs, checks, expected, outputs, tolerance)


def _traced(model, inputs, checks, expected, tol, faithful):
    """(graph, its outputs), the graph checked against the model: a trace can miss what eager
    code does (an in-place write through a second name, a buffer's update), and every pass is
    judged against the graph before it, so the graph itself must be the model."""
    first = []
    gm = propagate(trace(model), inputs, keep_output=first)
    outputs = first + verify.outputs(gm, checks[1:])
    found = verify.compare(expected, outputs)
    if not found["error"] <= tol:
        raise OneByOneError(f"expected {faithful} faithfully; its graph differs from "
                            f"the model at output {found['worst']} ({found['why']}: error "
                            f"{found['error']:.2e}, tolerance {tol:.0e})")
    return gm, outputs


@torch.no_grad()
def _first_run(model, inputs):
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
