"""inspect(): every 1x1 conv of a model with its cost and role, the totals, and the findings."""
from dataclasses import asdict, dataclass, field

from .cost import node_macs, totals
from .load import load
from .patterns import is_1x1, module
from .trace import make_inputs, propagate, shape_of, trace


@dataclass
class Inspection:
    """Plain data: ``rows`` (one dict per 1x1 conv), ``totals``, ``findings``."""

    model: str
    input: list
    rows: list = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)

    def to_dict(self):
        return asdict(self)


def make_row(path, cin, cout, groups, stride, output, params, macs, role):
    """One table row; shares are filled in by add_totals."""
    return {"module": path, "cin": cin, "cout": cout, "groups": groups, "stride": list(stride),
            "output": list(output), "params": params, "macs": macs, "role": role}


def add_totals(inspection, model_params, model_macs):
    """Fill in each row's share of the model's MACs and params, and the totals."""
    for r in inspection.rows:
        r["macs_share"] = r["macs"] / model_macs if model_macs else 0.0
        r["params_share"] = r["params"] / model_params if model_params else 0.0
    macs = sum(r["macs"] for r in inspection.rows)
    params = sum(r["params"] for r in inspection.rows)
    inspection.totals = {
        "conv1x1": len(inspection.rows), "conv1x1_macs": macs, "conv1x1_params": params,
        "model_macs": model_macs, "model_params": model_params,
        "macs_share": macs / model_macs if model_macs else 0.0,
        "params_share": params / model_params if model_params else 0.0,
    }
    return inspection


def inspect(model, example_input=None):
    """Find and cost every 1x1 conv in ``model``; the model is not changed.

    model: an nn.Module, a torchvision model name, or a file (pickled module, TorchScript,
    .pt2, .onnx). example_input: a tensor, tuple of tensors or shape (default 1,3,224,224).

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.ReLU(), torch.nn.Conv2d(16, 4, 1))
    >>> result = inspect(net, (1, 3, 10, 10))
    >>> [(r["module"], r["cin"], r["cout"], r["macs"], r["role"]) for r in result.rows]
    [('2', 16, 4, 4096, 'head')]
    >>> round(result.totals["macs_share"], 3)
    0.129
    """
    from .findings import findings
    from .roles import roles

    name = model if isinstance(model, str) else type(model).__name__
    model = load(model)
    inputs = make_inputs(example_input)
    if type(model).__module__.startswith("onnx") or _is_script(model):
        from .onnx_inspect import inspect_onnx

        return inspect_onnx(model, inputs, name)
    gm = propagate(trace(model), inputs)
    role = roles(gm)
    result = Inspection(name, [list(t.shape) for t in inputs])
    for n in gm.graph.nodes:
        m = module(gm, n)
        if is_1x1(m):
            stride = m.stride if isinstance(m.stride, tuple) else (m.stride,) * (m.weight.ndim - 2)
            params = sum(p.numel() for p in m.parameters())
            result.rows.append(make_row(n.target, m.in_channels, m.out_channels, m.groups, stride,
                                        shape_of(n)[1:], params, node_macs(gm, n), role[n]))
    t = totals(gm)
    result.findings = findings(gm)
    return add_totals(result, t["params"], t["macs"])


def _is_script(model):
    import torch

    return isinstance(model, torch.jit.ScriptModule)
