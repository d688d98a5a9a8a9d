"""`explain --block NAME`: a block's 1x1 convs, what each does and what it costs.

The rows come from onebyone.blocks.describe (the block is run with forward hooks); this module
only adds the totals and formats them.
"""
from dataclasses import asdict

from . import parse


def block_rows(name, shape, all_convs=False):
    """(rows, totals) for block `name` on an H x W x C `shape` such as '28x28x192'.

    >>> rows, totals = block_rows("fire", "55x55x96")
    >>> [r.path for r in rows], totals["macs"]
    (['squeeze', 'expand1x1'], 5227200)
    """
    from ..blocks import describe

    _, channels, size = parse.layer_shape(shape, None, 2)
    rows = describe(name, size[0], size[1], channels, all_convs=all_convs)
    ones = [r for r in rows if all(k == 1 for k in r.kernel_size)]
    totals = {"convs_1x1": len(ones), "params": sum(r.params for r in ones),
              "macs": sum(r.macs for r in ones)}
    return rows, totals


def as_dict(name, shape, rows, totals):
    return {"schema": "onebyone.explain.block/1", "block": name, "input_hwc": shape,
            "rows": [asdict(r) for r in rows], "totals_1x1": totals}


def render(name, shape, rows, totals, console=None):
    from rich.console import Console
    from rich.table import Table

    from ..blocks import ROLES

    console = console or Console()
    table = Table(title=f"block {name} on {shape} (H x W x C, batch 1)")
    for header in rows[0].HEADERS if rows else ():
        table.add_column(header, justify="right" if header in ("params", "multiply-adds") else "left")
    for r in rows:
        table.add_row(*r.cells())
    console.print(table)
    console.print(f"{totals['convs_1x1']} 1x1 convs: {totals['params']:,} parameters, "
                  f"{totals['macs']:,} multiply-adds ({2 * totals['macs']:,} FLOPs)")
    for role in sorted({r.role for r in rows if r.role in ROLES}):
        console.print(f"  {role}: {ROLES[role]}")
