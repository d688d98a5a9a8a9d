"""The terminal and JSON renderings: rich tables and paragraphs laid out from fmt's tables,
nothing computed; and the facts tree as it is, as JSON.

The JSON schema ("onebyone.explain/1") is documented field by field in docs/explain.md; a field
is only ever added within a version, never renamed or removed.
"""
import io
import json
import os
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import fmt
from .example import example_lines


def render(e, console=None):
    """Print the explanation `e` to a rich console (default: the terminal)."""
    console = console or Console(width=terminal_width())
    console.print(f"[bold]{escape(fmt.layer_title(e.layer))}[/]")
    console.print(escape(fmt.header(e.layer)))
    console.print("[bold]Answers[/] (for this layer; the evidence follows)")
    for a in e.answers:
        console.print(f"[bold]Q: {escape(a.question)}[/]")
        console.print(f"A: {escape(a.answer)}")
    for title, pairs in fmt.sections(e):
        table = Table(title=title, title_justify="left", show_header=False, title_style="bold")
        table.add_column(style="cyan")
        table.add_column()
        for label, value in pairs:
            table.add_row(escape(label), escape(value))
        console.print(table)
    if e.notes:
        console.print("[bold]Notes[/]")
        for n in e.notes:
            console.print(f"- {escape(n.text)}")
    if e.example is not None:
        first, *rest = example_lines(e.example)
        console.print(f"[bold]{escape(first)}[/]")
        for line in rest:  # wrapped at spaces, so a number is never cut in two
            console.print(escape(line))
    console.print("[bold]PyTorch code[/] (runs as is: python -c or a file; asserts they agree)")
    for line in e.pytorch_code.splitlines():  # never wrapped: it must paste and run
        console.print(escape(line), soft_wrap=True, highlight=False)


def to_text(e, width=100):
    """The rendering as plain text (what docs and tests read).

    >>> import onebyone
    >>> print(to_text(onebyone.explain("2x2x3", filters=2)).splitlines()[0])
    1x1 Conv2d: 2x2x3 -> 2 filters -> 2x2x2 (H x W x C, batch 1)
    """
    buffer = io.StringIO()
    render(e, Console(file=buffer, width=width, no_color=True, highlight=False))
    return buffer.getvalue()


def terminal_width(default=80):
    """COLUMNS if set, else the width of the user's terminal even when stdout is piped
    (`onebyone explain ... | less` reads stderr's or stdin's terminal), else `default`.

    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"COLUMNS": "123"}):
    ...     terminal_width()
    123
    """
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    for stream in (sys.stdout, sys.stderr, sys.stdin):
        try:
            return os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):  # not a terminal, closed, or replaced
            continue
    return default


# JSON: the facts tree as it is, under a versioned schema name.

def to_json(e, indent=2):
    """The explanation `e` as a JSON string: tuples become lists, None becomes null.

    Objects are indented; a list of numbers (a shape, a matrix row) stays on one line.

    >>> import onebyone
    >>> doc = json.loads(to_json(onebyone.explain("4x4x3", filters=2)))
    >>> doc["schema"], doc["weights"]["pytorch_shape"], doc["example"]
    ('onebyone.explain/1', [2, 3, 1, 1], None)
    >>> print(to_json(onebyone.explain("4x4x3", filters=2)).splitlines()[7])
        "input_size": [4, 4],
    """
    return _dump(e.as_dict(), indent, 0)


def _dump(value, indent, level):
    if isinstance(value, dict):
        inner = " " * indent * (level + 1)
        items = [f"{inner}{json.dumps(k)}: {_dump(v, indent, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent * level + "}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, dict) for v in value):
        inner = " " * indent * (level + 1)
        items = [inner + _dump(v, indent, level + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent * level + "]"
    return json.dumps(value)  # numbers, strings, and lists of them (nested too) on one line
