"""A whole block explained (`explain_block`, `explain --block NAME`): its 1x1 convs, what each
does and what it costs, and the whole block's cost by kind of work (1x1 convs, k x k convs,
matrix products, pooling) with the 1x1 convs' share.

The rows come from the graph's census (onebyone.graph.census) of the block traced and run once
on the input size. The cost by kind comes from one more run of the block (on the "meta" device
it computes nothing, only shapes) under torch's FlopCounterMode: a conv module's work counts for
that conv (a Conv1x1 may run as a matmul), any other op that FlopCounterMode counts (attention's
q @ k^T and its weighted sum, a Linear layer) is a matrix product, and pooling and means, which
it does not count, count one operation per value they read. This module never imports a block:
whoever names one builds it (onebyone.blocks.build).
"""
from dataclasses import asdict, dataclass
from math import prod
from typing import ClassVar

from . import fmt, parse

KINDS = ("1x1 convs", "k x k convs", "matrix products", "pooling")
UNITS = {"1x1 convs": "multiply-adds", "k x k convs": "multiply-adds",
         "matrix products": "multiply-adds", "pooling": "adds or compares"}
SCHEMA = "onebyone.explain.block/1"


@dataclass(frozen=True)
class ConvRow:
    """One conv call inside a block, for a batch of one image."""

    path: str            # module path inside the block, e.g. "branch2.0.conv"
    role: str            # a role of onebyone.graph.roles.ROLES, or "depthwise 3x3" / "spatial 3x3"
    in_channels: int
    out_channels: int
    kernel_size: tuple   # (1, 1) for a 1x1 conv
    groups: int
    stride: tuple
    output_size: tuple   # spatial size of the output, e.g. (28, 28)
    params: int          # weight + bias elements
    macs: int            # multiply-adds: output elements * (in_channels / groups) * kernel area

    HEADERS: ClassVar[tuple] = ("module", "role", "Cin -> Cout", "kernel", "groups", "stride",
                                "output", "params", "multiply-adds")

    def cells(self):
        """The row as strings, in the order of HEADERS (for a rich or plain-text table)."""
        return [self.path, self.role, f"{self.in_channels} -> {self.out_channels}",
                fmt.x(self.kernel_size), str(self.groups), fmt.x(self.stride),
                fmt.x(self.output_size), f"{self.params:,}", f"{self.macs:,}"]


@dataclass(frozen=True)
class BlockExplanation:
    name: str
    input_hwc: str       # the input as H x W x C, e.g. "28x28x192"
    rows: tuple          # ConvRow per 1x1 conv call, in call order
    totals_1x1: dict     # totals(rows): {"convs_1x1", "params", "macs"}
    whole_block: dict    # summary(count(...)): every kind of work, its share, the 1x1 share

    def as_dict(self):
        """The JSON form (schema onebyone.explain.block/1)."""
        return {"schema": SCHEMA, "block": self.name, "input_hwc": self.input_hwc,
                "rows": [asdict(r) for r in self.rows], "totals_1x1": self.totals_1x1,
                "whole_block": self.whole_block}


def explain_block(block, shape, *, name=None):
    """Explain the module ``block`` on one image of ``shape`` ('28x28x192', H x W x C, or
    (1, C, H, W)): a ConvRow per 1x1 conv call, their totals, and the whole block's cost by kind.

    The block is left as it was. On the "meta" device (built under ``torch.device("meta")``)
    it computes nothing, only shapes, so a large input costs no memory. Bad input raises
    OneByOneError.

    >>> from onebyone.blocks import build
    >>> e = explain_block(build("fire", 96), "55x55x96", name="fire")
    >>> [(r.path, r.role, r.macs) for r in e.rows], e.totals_1x1["macs"]
    ([('squeeze', 'reduce', 3484800), ('expand1x1', 'expand', 1742400)], 5227200)
    >>> [(r["kind"], r["ops"]) for r in e.whole_block["rows"]][:2]
    [('1x1 convs', 5227200), ('k x k convs', 15681600)]
    """
    from ..errors import OneByOneError

    batch, channels, size = parse.layer_shape(shape, None, 2)
    if batch != 1:
        raise OneByOneError(f"a block is explained on one image; expected a batch of 1; got "
                            f"{batch} in {shape!r}")
    input_shape = (1, channels) + size
    rows = tuple(describe_module(block, input_shape, output_feeds_layer=True))
    return BlockExplanation(
        name=name or type(block).__name__, input_hwc=fmt.x(size + (channels,)), rows=rows,
        totals_1x1=totals(rows), whole_block=summary(count(block, input_shape)))


def describe_module(module, input_shape, all_convs=False, *, output_feeds_layer=False):
    """Run ``module`` once on zeros of ``input_shape`` (batch first, e.g. (1, C, H, W)) and
    return a ConvRow per 1x1 conv call (per conv call of any kernel if ``all_convs``), in call
    order. Roles are the graph's (onebyone.graph.roles): declared by the module or a block inside
    it (``conv1x1_roles``), else by the rules. output_feeds_layer: ``module`` is a block whose
    output feeds later layers, so the conv that makes its output is no "head".

    A traced copy runs, in eval mode under no_grad, so the module, its flags and its BatchNorm
    statistics are not touched. A module on the "meta" device runs without computing anything.
    """
    import torch

    from ..graph.census import census
    from ..graph.roles import declared_roles
    from ..graph.trace import propagate, trace

    gm = propagate(trace(module).eval(), (torch.zeros(input_shape, **_like(module)),))
    return [ConvRow(path=r["module"], role=r["role"], in_channels=r["cin"],
                    out_channels=r["cout"], kernel_size=tuple(r["kernel"]), groups=r["groups"],
                    stride=tuple(r["stride"]), output_size=tuple(r["output"][1:]),
                    params=r["params"], macs=r["macs"])
            for r in census(gm, declared_roles(module), all_convs, output_feeds_layer)]


def _like(module):
    """The input lives where the weights live and has their dtype (conv1x1 insists on a match)."""
    param = next(module.parameters(), None)
    return {} if param is None else {"device": param.device, "dtype": param.dtype}


def totals(rows):
    """{'convs_1x1', 'params', 'macs'} over the rows with a 1x1 kernel.

    >>> from types import SimpleNamespace as Row
    >>> totals([Row(kernel_size=(1, 1), params=36, macs=800), Row(kernel_size=(3, 3), params=9, macs=9)])
    {'convs_1x1': 1, 'params': 36, 'macs': 800}
    """
    ones = [r for r in rows if all(k == 1 for k in r.kernel_size)]
    return {"convs_1x1": len(ones), "params": sum(r.params for r in ones),
            "macs": sum(r.macs for r in ones)}


def _is_conv(module):
    """nn.Conv1d/2d/3d and onebyone's Conv1x1: a weight of rank 3 to 5 and a kernel size."""
    weight = getattr(module, "weight", None)
    return hasattr(module, "kernel_size") and weight is not None and 3 <= weight.dim() <= 5


def count(module, input_shape):
    """{kind: {"calls": n, "ops": count}} for one run of `module` on an input of `input_shape`.

    >>> import torch
    >>> layer = torch.nn.Sequential(torch.nn.Conv2d(8, 4, 1), torch.nn.AvgPool2d(2))
    >>> c = count(layer.to("meta"), (1, 8, 6, 6))
    >>> c["1x1 convs"], c["pooling"]  # 36 pixels x 8 -> 4; 9 outputs x 4 channels x 2x2
    ({'calls': 1, 'ops': 1152}, {'calls': 1, 'ops': 144})
    """
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    windows = {aten.avg_pool1d, aten.avg_pool2d, aten.avg_pool3d, aten.max_pool1d,
               aten.max_pool2d, aten.max_pool2d_with_indices, aten.max_pool3d_with_indices}
    means = {aten._adaptive_avg_pool2d, aten._adaptive_avg_pool3d, aten.adaptive_avg_pool1d,
             aten.adaptive_max_pool2d, aten.mean, aten.amax}
    totals = {kind: {"calls": 0, "ops": 0} for kind in KINDS}
    flops = FlopCounterMode(display=False)  # 2 FLOPs per multiply-add, as torch counts them
    inside = []  # the FLOPs counted when each conv module now running began, innermost last

    def add(kind, ops):
        totals[kind]["calls"] += 1
        totals[kind]["ops"] += int(ops)

    class Counter(TorchDispatchMode):
        """Sees each op before FlopCounterMode does: what it counts outside a conv module is a
        matrix product; pooling, which it does not count, is counted here."""

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            start = flops.get_total_flops()
            out = func(*args, **(kwargs or {}))
            if inside:  # the conv module's own cost is counted once, from its hook
                return out
            packet = func._overloadpacket
            if flops.get_total_flops() > start:
                add("matrix products", (flops.get_total_flops() - start) // 2)
            elif packet in windows:  # each output reads its whole window
                first = out[0] if isinstance(out, (tuple, list)) else out
                kernel = list(args[1]) * (first.dim() - 2 if len(args[1]) == 1 else 1)
                add("pooling", first.numel() * prod(kernel))
            elif packet in means:
                add("pooling", args[0].numel())  # every value read is added or compared once
            return out

    def before(conv, _inputs):
        inside.append(flops.get_total_flops())

    def after(conv, _inputs, output):
        start = inside.pop()
        if not inside:  # a conv inside a conv module is that module's own business
            kind = "1x1 convs" if prod(conv.weight.shape[2:]) == 1 else "k x k convs"
            add(kind, (flops.get_total_flops() - start) // 2)

    hooks = []
    for m in module.modules():
        if _is_conv(m):
            hooks += [m.register_forward_pre_hook(before), m.register_forward_hook(after)]
    flags = [(m, m.training) for m in module.modules()]
    try:
        module.eval()
        with torch.no_grad(), flops, Counter():  # Counter innermost: it sees each op first
            module(torch.zeros(input_shape, **_like(module)))
    finally:
        for h in hooks:
            h.remove()
        for m, training in flags:
            m.training = training
    return totals


def summary(totals):
    """The totals with each kind's share of all counted operations, and the 1x1 share.

    >>> s = summary({"1x1 convs": {"calls": 1, "ops": 30}, "k x k convs": {"calls": 0, "ops": 0},
    ...              "matrix products": {"calls": 2, "ops": 70}, "pooling": {"calls": 0, "ops": 0}})
    >>> s["total_ops"], s["share_1x1"]
    (100, 0.3)
    """
    total = sum(t["ops"] for t in totals.values())
    rows = [{"kind": k, "calls": totals[k]["calls"], "ops": totals[k]["ops"], "unit": UNITS[k],
             "share": totals[k]["ops"] / total if total else 0.0} for k in KINDS]
    return {"rows": rows, "total_ops": total,
            "share_1x1": totals["1x1 convs"]["ops"] / total if total else 0.0}


def render(e, console=None):
    """The BlockExplanation ``e`` on a rich console: the table of its 1x1 convs, their totals,
    what each role shown means, and the whole block's cost by kind."""
    from rich.console import Console

    from .._table import print_table
    from ..graph.roles import ROLES

    console = console or Console()
    rows, t = e.rows, e.totals_1x1
    if rows:  # the shared table: fits the console or is stacked, never a cut number
        print_table(console, f"block {e.name} on {e.input_hwc} (H x W x C, batch 1)",
                    list(rows[0].HEADERS), [r.cells() for r in rows],
                    numbers=("params", "multiply-adds"), sentences=("role",))
    console.print(f"{t['convs_1x1']} 1x1 convs: {t['params']:,} parameters, "
                  f"{t['macs']:,} multiply-adds ({2 * t['macs']:,} FLOPs)")
    for role in sorted({r.role for r in rows if r.role in ROLES}):
        console.print(f"  {role}: {ROLES[role]}")
    cost = e.whole_block  # where the work goes: every kind, its share, and the 1x1 convs' share
    print_table(console, "the whole block (one image): every op it runs, by kind",
                ["kind", "calls", "operations", "counted as", "share"],
                [[r["kind"], str(r["calls"]), f"{r['ops']:,}", r["unit"], f"{r['share']:.1%}"]
                 for r in cost["rows"]], numbers=("calls", "operations", "share"))
    console.print(f"1x1 convs: {cost['share_1x1']:.1%} of the block's {cost['total_ops']:,} "
                  f"counted operations (elementwise ops such as ReLU, softmax and residual adds "
                  f"are not counted)")
