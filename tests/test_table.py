"""onebyone._table: a table fits the console with every cell whole, or it is stacked."""
import io
import re

import pytest
from rich.console import Console

from onebyone._table import print_table

HEADERS = ("pass", "changed", "error", "tolerance", "result", "for example")
ROWS = [["merge_parallel", "12", "3.1e-07", "1e-04", "kept", "features.3.expand1x1 + features.3.expand3x3 "
         "read the same tensor: one conv of 128 outputs, then a split"],
        ["low_rank", "0", "inf", "5e-02", "rolled back [error above tolerance]", "w[o, c] kept at rank 4"]]


@pytest.mark.parametrize("width", [30, 50, 80, 120, 200])
def test_every_cell_whole_at_every_width(width):
    out = io.StringIO()
    kind = print_table(Console(file=out, width=width), "optimize", HEADERS, ROWS,
                       numbers=("changed", "error", "tolerance"), sentences=("result", "for example"))
    text = out.getvalue()
    assert max(map(len, text.splitlines())) <= width
    assert "…" not in text
    for row in ROWS:
        for cell in row[:4]:  # names and numbers: on one line, whole
            assert re.search(rf"(?<![\w.+-]){re.escape(cell)}(?![\w.+-])", text), (width, cell)
        for sentence in row[4:]:  # sentences may wrap, never lose a word (markup-like text too)
            for word in sentence.split():
                assert word in text, (width, word)
    assert kind == ("table" if width >= 120 else "stacked")
