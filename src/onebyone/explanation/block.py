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
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"block {name} on {shape} (H x W x C, batch 1)")
    for header in rows[0].HEADERS if rows else ():
        table.add_column(header, justify="right" if header in ("params", "multiply-adds") else "left")
    for r in rows:
        table.add_row(*r.cells())
    # Natural width: each column as wide as its widest cell, 3 characters of border each.
    natural = sum(max(len(h), *(len(r.cells()[i]) for r in rows)) + 3
                  for i, h in enumerate(rows[0].HEADERS)) + 1 if rows else 0
    if natural > console.width:
        _render_stacked(table.title, rows, console)  # too narrow for the table: never cut a number
    else:
        console.print(table)
    console.print(f"{totals['convs_1x1']} 1x1 convs: {totals['params']:,} parameters, "
                  f"{totals['macs']:,} multiply-adds ({2 * totals['macs']:,} FLOPs)")
    for role in sorted({r.role for r in rows if r.role in legend}):
        console.print(f"  {role}: {legend[role]}")
    if cost is not None:
        _render_cost(cost, console)


def _render_stacked(title, rows, console):
    """One paragraph per row, 'header value' pairs, wrapped at spaces."""
    from rich.markup import escape

    console.print(escape(title))
    for r in rows:
        cells = r.cells()
        pairs = ", ".join(f"{h} {c}" for h, c in zip(r.HEADERS[1:], cells[1:]))
        console.print(escape(f"- {cells[0]}: {pairs}"))


def _render_cost(cost, console):
    """Where the whole block's work goes: every kind, its share, and the 1x1 convs' share."""
    from rich.table import Table

    table = Table(title="the whole block (one image): every op it runs, by kind")
    for header in ("kind", "calls", "operations", "counted as", "share"):
        table.add_column(header, justify="left" if header in ("kind", "counted as") else "right")
    for r in cost["rows"]:
        table.add_row(r["kind"], str(r["calls"]), f"{r['ops']:,}", r["unit"], f"{r['share']:.1%}")
    console.print(table)
    console.print(f"1x1 convs: {cost['share_1x1']:.1%} of the block's {cost['total_ops']:,} "
                  f"counted operations (elementwise ops such as ReLU, softmax and residual adds "
                  f"are not counted)")
