"""`explain --block NAME`: a block's 1x1 convs, what each does and what it costs, and the
whole block's cost by kind of work (1x1 convs, k x k convs, matrix products, pooling) with the
1x1 convs' share.

The CLI builds the block and reads its rows from the graph's census (onebyone.blocks.describe);
this module adds the totals and the cost by kind, and formats the rows it is given (it never
imports a block).

The cost by kind: the block runs once (on the "meta" device it computes nothing, only shapes)
under a dispatch mode that sees every aten op. An op inside a conv module counts for that conv
(a Conv1x1 may run as a matmul); any other matmul (attention's q @ k^T and its weighted sum, a
Linear layer) counts as a matrix product, and pooling and means count one operation per value
they read.
"""
from dataclasses import asdict
from math import prod


def totals(rows):
    """{'convs_1x1', 'params', 'macs'} over the rows with a 1x1 kernel.

    >>> from types import SimpleNamespace as Row
    >>> totals([Row(kernel_size=(1, 1), params=36, macs=800), Row(kernel_size=(3, 3), params=9, macs=9)])
    {'convs_1x1': 1, 'params': 36, 'macs': 800}
    """
    ones = [r for r in rows if all(k == 1 for k in r.kernel_size)]
    return {"convs_1x1": len(ones), "params": sum(r.params for r in ones),
            "macs": sum(r.macs for r in ones)}


def as_dict(name, shape, rows, totals, cost=None):
    """The JSON form; `cost` is summary() of the whole block, added as "whole_block"."""
    doc = {"schema": "onebyone.explain.block/1", "block": name, "input_hwc": shape,
           "rows": [asdict(r) for r in rows], "totals_1x1": totals}
    if cost is not None:
        doc["whole_block"] = cost
    return doc


def render(name, shape, rows, totals, legend, console=None, cost=None):
    """The table of rows (each with HEADERS and cells()), the totals, and what each role shown
    means (legend: {role: meaning})."""
    from rich.console import Console

    from .._table import print_table

    console = console or Console()
    if rows:  # the shared table: fits the console or is stacked, never a cut number
        print_table(console, f"block {name} on {shape} (H x W x C, batch 1)",
                    list(rows[0].HEADERS), [r.cells() for r in rows],
                    numbers=("params", "multiply-adds"), sentences=("role",))
    console.print(f"{totals['convs_1x1']} 1x1 convs: {totals['params']:,} parameters, "
                  f"{totals['macs']:,} multiply-adds ({2 * totals['macs']:,} FLOPs)")
    for role in sorted({r.role for r in rows if r.role in legend}):
        console.print(f"  {role}: {legend[role]}")
    if cost is not None:
        _render_cost(cost, console)


def _render_cost(cost, console):
    """Where the whole block's work goes: every kind, its share, and the 1x1 convs' share."""
    from .._table import print_table

    print_table(console, "the whole block (one image): every op it runs, by kind",
                ["kind", "calls", "operations", "counted as", "share"],
                [[r["kind"], str(r["calls"]), f"{r['ops']:,}", r["unit"], f"{r['share']:.1%}"]
                 for r in cost["rows"]], numbers=("calls", "operations", "share"))
    console.print(f"1x1 convs: {cost['share_1x1']:.1%} of the block's {cost['total_ops']:,} "
                  f"counted operations (elementwise ops such as ReLU, softmax and residual adds "
                  f"are not counted)")


# The whole block's cost, by kind of work.

KINDS = ("1x1 convs", "k x k convs", "matrix products", "pooling")
UNITS = {"1x1 convs": "multiply-adds", "k x k convs": "multiply-adds",
         "matrix products": "multiply-adds", "pooling": "adds or compares"}


def _is_conv(module):
    """nn.Conv1d/2d/3d and onebyone's Conv1x1: a weight of rank 3 to 5 and a kernel size."""
    weight = getattr(module, "weight", None)
    return hasattr(module, "kernel_size") and weight is not None and 3 <= weight.dim() <= 5


def _matmul_macs(packet, args, out, aten):
    """Multiply-adds of one matrix product: output elements times the summed-over length."""
    if packet in (aten.addmm, aten.baddbmm, aten.addmv):
        args = args[1:]  # (bias, a, b)
    if packet in (aten.mm, aten.bmm, aten.matmul, aten.addmm, aten.baddbmm, aten.mv, aten.addmv,
                  aten.dot):
        return out.numel() * args[0].shape[-1]
    if packet in (aten._scaled_dot_product_flash_attention_for_cpu,
                  aten._scaled_dot_product_efficient_attention, aten.scaled_dot_product_attention,
                  aten._scaled_dot_product_attention_math):
        q, k, v = args[:3]  # q @ k^T, then its softmax @ v
        return prod(q.shape[:-1]) * k.shape[-2] * (q.shape[-1] + v.shape[-1])
    return None


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

    aten = torch.ops.aten
    windows = {aten.avg_pool1d, aten.avg_pool2d, aten.avg_pool3d, aten.max_pool1d,
               aten.max_pool2d, aten.max_pool2d_with_indices, aten.max_pool3d_with_indices}
    means = {aten._adaptive_avg_pool2d, aten._adaptive_avg_pool3d, aten.adaptive_avg_pool1d,
             aten.adaptive_max_pool2d, aten.mean, aten.amax}
    totals = {kind: {"calls": 0, "ops": 0} for kind in KINDS}
    inside = []  # the conv modules running now, innermost last

    def add(kind, ops):
        totals[kind]["calls"] += 1
        totals[kind]["ops"] += int(ops)

    class Counter(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if inside:  # the conv module's own cost is counted once, from its hook
                return out
            packet = func._overloadpacket
            macs = _matmul_macs(packet, args, out, aten)
            if macs is not None:
                add("matrix products", macs)
            elif packet in windows:  # each output reads its whole window
                first = out[0] if isinstance(out, (tuple, list)) else out
                kernel = list(args[1]) * (first.dim() - 2 if len(args[1]) == 1 else 1)
                add("pooling", first.numel() * prod(kernel))
            elif packet in means:
                add("pooling", args[0].numel())  # every value read is added or compared once
            return out

    def before(conv, _inputs):
        inside.append(conv)

    def after(conv, _inputs, output):
        inside.pop()
        if not inside:  # a conv inside a conv module is that module's own business
            kernel = prod(conv.weight.shape[2:])
            macs = output.numel() * conv.weight.shape[1] * kernel
            add("1x1 convs" if kernel == 1 else "k x k convs", macs)

    hooks = []
    for m in module.modules():
        if _is_conv(m):
            hooks += [m.register_forward_pre_hook(before), m.register_forward_hook(after)]
    param = next(module.parameters(), None)
    like = {} if param is None else {"device": param.device, "dtype": param.dtype}
    flags = [(m, m.training) for m in module.modules()]
    try:
        module.eval()
        with torch.no_grad(), Counter():
            module(torch.zeros(input_shape, **like))
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
