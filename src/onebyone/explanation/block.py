"""`explain --block NAME`: a block's 1x1 convs, what each does and what it costs.

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


def as_dict(name, shape, rows, totals):
    return {"schema": "onebyone.explain.block/1", "block": name, "input_hwc": shape,
            "rows": [asdict(r) for r in rows], "totals_1x1": totals}


def render(name, shape, rows, totals, legend, console=None):
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
    console.print(table)
    console.print(f"{totals['convs_1x1']} 1x1 convs: {totals['params']:,} parameters, "
                  f"{totals['macs']:,} multiply-adds ({2 * totals['macs']:,} FLOPs)")
    for role in sorted({r.role for r in rows if r.role in legend}):
        console.print(f"  {role}: {legend[role]}")
