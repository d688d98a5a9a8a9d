"""inspect(): every 1x1 conv of a model with its cost and role, the totals, and the findings."""
from . import leaves
from .census import census
from .cost import totals
from .findings import findings
from .load import load
from .onnx_read import is_onnx
from .roles import declared_roles
from .table import Inspection, add_totals
from .trace import make_inputs, propagate, trace


def inspect(model, example_input=None):
    """Find and cost every 1x1 conv in ``model``; the model is not changed.

    model: an nn.Module, a torchvision model name, or a file (pickled module, TorchScript,
    .pt2, .onnx). example_input: a tensor, tuple of tensors or shape (default 1,3,224,224;
    for an ONNX model it fills symbolic dims, and the default is the model's own fixed dims).
    Rows come from census.census (roles: roles.py, including roles a block declares), and for
    ONNX from onnx_inspect with the same rules.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.ReLU(), torch.nn.Conv2d(16, 4, 1))
    >>> result = inspect(net, (1, 3, 10, 10))
    >>> [(r["module"], r["cin"], r["cout"], r["macs"], r["role"]) for r in result.rows]
    [('2', 16, 4, 4096, 'head')]
    >>> round(result.totals["macs_share"], 3)
    0.129
    """
    name = model if isinstance(model, str) else type(model).__name__
    model = load(model)
    if is_onnx(model) or _is_script(model):
        from .onnx_inspect import inspect_onnx

        return inspect_onnx(model, example_input, name)
    inputs = make_inputs(example_input)
    gm = propagate(trace(model), inputs)
    result = Inspection(name, [list(t.shape) for t in inputs], census(gm, declared_roles(model)))
    t = totals(gm)
    result.findings = findings(gm)
    result.kept_whole = leaves.rows(gm)
    return add_totals(result, t["params"], t["macs"])


def _is_script(model):
    import torch

    return isinstance(model, torch.jit.ScriptModule)
