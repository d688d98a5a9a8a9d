"""`explain --block NAME`: a block's 1x1 convs, what each does and what it costs, and the
whole block's cost by kind (block_cost.py) with the 1x1 convs' share.

The CLI builds the block and reads its rows from the graph's census (onebyone.blocks.describe);
this module only adds the totals and formats the rows it is given (it never imports a block).
"""
from dataclasses import asdict


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
    """The JSON form; `cost` is block_cost.summary() of the whole block, added as "whole_block"."""
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
