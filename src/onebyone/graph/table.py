"""The inspection table: one row per pointwise layer, its shares of the model, and the totals.

Plain data shared by inspect (PyTorch) and ONNX inspect, which fill it from their own graphs.
"""
from dataclasses import dataclass, field

from .reports import Record


@dataclass(eq=False, slots=True)
class Inspection(Record):
    """What inspect returns, a record like optimize's report (reports.Record: it reads as its
    to_dict()): ``rows`` (one dict per pointwise layer), ``totals``, ``findings``, and
    ``kept_whole``: the modules torch.fx could not trace, each run whole (leaves.py)."""

    model: str
    input: list
    rows: list = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)
    kept_whole: list = field(default_factory=list)  # {"module", "reason"}: what fx could not trace


def make_row(path, cin, cout, groups, stride, output, params, macs, role, *, kind="conv",
             kernel=(1, 1), input=()):
    """One table row (a census row); ``kind`` says what layer it is ("conv" or "linear"),
    ``input`` and ``output`` are one sample's shapes (no batch; channels first for a conv,
    channels last for a Linear, as each layer sees them). Shares come from add_totals.

    >>> make_row("fc", 8, 4, 1, (1, 1), (4, 5, 5), 36, 800, "reduce")["kind"]
    'conv'
    """
    return {"kind": kind, "module": path, "cin": cin, "cout": cout, "kernel": list(kernel),
            "groups": groups, "stride": list(stride), "input": list(input), "output": list(output),
            "params": params, "macs": macs, "role": role}


def add_totals(inspection, model_params, model_macs):
    """Fill in each row's share of the model's MACs and params, and the totals."""
    for r in inspection.rows:
        r["macs_share"] = r["macs"] / model_macs if model_macs else 0.0
        r["params_share"] = r["params"] / model_params if model_params else 0.0
    macs = sum(r["macs"] for r in inspection.rows)  # every call computes: k calls, k times
    # a module called k times is k rows but one set of weights: its parameters count once
    params = sum({r["module"]: r["params"] for r in inspection.rows}.values())
    inspection.totals = {
        "conv1x1": len(inspection.rows), "conv1x1_macs": macs, "conv1x1_params": params,
        "model_macs": model_macs, "model_params": model_params,
        "macs_share": macs / model_macs if model_macs else 0.0,
        "params_share": params / model_params if model_params else 0.0,
    }
    return inspection
