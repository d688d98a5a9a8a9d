"""Tables for the terminal that never cut a number: they fit the console, or they are stacked.

rich shrinks a table that is wider than the console by cutting cells ("feat…", "16x1…"). Here
every cell stays whole except in the columns named as sentences, which wrap at spaces; when that
cannot fit (say ten columns at 80 characters) each row becomes a short paragraph of
"header: value" pairs.
The console's width is rich's: COLUMNS, else the terminal's even when stdout is piped.
"""
import textwrap

_BORDER = 3  # rich's heavy box: a rule and one space of padding on each side of a cell
_TEXT_MIN = 10  # a text column narrower than this wraps into a word per line: stack instead


def print_table(console, title, headers, rows, numbers=(), sentences=()):
    """Print ``rows`` (lists of strings) under ``headers``: ``numbers`` names the right-aligned
    columns, ``sentences`` the ones that may wrap; every other cell is kept whole. Returns
    "table" or "stacked", whichever was printed.

    >>> import io
    >>> from rich.console import Console
    >>> out = io.StringIO()
    >>> print_table(Console(file=out, width=30), "convs", ["module", "MACs", "params"],
    ...             [["features.0.conv.1", "12.8M", "512"]], numbers=("MACs", "params"))
    'stacked'
    >>> print(out.getvalue().rstrip())
    convs
    features.0.conv.1
        MACs: 12.8M, params: 512
    """
    from rich.table import Table
    from rich.text import Text

    widths = _widths(headers, rows, sentences, console.width - _BORDER * len(headers) - 1)
    if widths is None:
        _stacked(console, title, headers, rows)
        return "stacked"
    table = Table(title=Text(title))  # cells are text, never rich markup ("[n, o]" stays)
    for h, w in zip(headers, widths):
        # Headers wrap at their spaces; cells wrap only in sentence columns, at spaces.
        head = Text("\n".join(textwrap.wrap(h, w, break_long_words=False)))
        table.add_column(head, justify="right" if h in numbers else "left", width=w,
                         no_wrap=h not in sentences)
    for r in rows:
        table.add_row(*map(Text, r))
    console.print(table)
    return "table"


def _widths(headers, rows, sentences, room):
    """Each column's width, or None when they cannot share ``room`` characters.

    A column is as wide as its widest cell and its header's longest word; a sentence column
    may shrink to its longest word (at least _TEXT_MIN), the room left shared out among the
    sentence columns in proportion to what they would take."""
    natural, least = [], []
    for i, h in enumerate(headers):
        cells = [r[i] for r in rows]
        words = [len(w) for c in cells for w in c.split()] if h in sentences else [len(c) for c in cells]
        longest_word = max(words + [len(w) for w in h.split()])
        natural.append(max([len(c) for c in cells] + [longest_word]))
        least.append(min(natural[-1], max(longest_word, _TEXT_MIN)) if h in sentences else natural[-1])
    if sum(least) > room:
        return None
    spare, wants = room - sum(least), sum(n - m for n, m in zip(natural, least))
    if wants <= spare:
        return natural
    return [m + (n - m) * spare // wants for n, m in zip(natural, least)]


def _stacked(console, title, headers, rows):
    """Each row: its first cell on a line, then 'header: value' pairs wrapped at pair bounds."""
    width = console.width
    console.print(title, markup=False, highlight=False, soft_wrap=True)
    for r in rows:
        console.print(r[0], markup=False, highlight=False, soft_wrap=True)
        pairs = [f"{h}: {v}" for h, v in zip(headers[1:], r[1:]) if v]
        for line in _pack(pairs, width - 4):
            console.print("    " + line, markup=False, highlight=False, soft_wrap=True)


def _pack(pairs, width):
    """Pairs joined by ', ' into lines of at most ``width``; a pair too long for a line of its
    own (a sentence) wraps at its spaces, never inside a word or number."""
    lines, line = [], ""
    for p in pairs:
        if line and len(line) + 2 + len(p) <= width:
            line += ", " + p
            continue
        if line:
            lines.append(line)
        pieces = textwrap.wrap(p, width, break_long_words=False, break_on_hyphens=False) or [p]
        lines += pieces[:-1]
        line = pieces[-1]
    if line:
        lines.append(line)
    return lines
