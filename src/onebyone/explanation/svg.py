"""SVG drawings for the HTML page: the input tensor, the filters, the matrix product's blocks.

Lengths grow with the logarithm of a size, so a 784-row matrix and a 32-column one are both
visible; every drawing is labelled with the real numbers, which are what a reader checks.
Channel depth is the exception: it is drawn to one linear scale for the input, the filters and
the output, because "192 channels shrink to 32" is the point of a 1x1 conv.
"""
from html import escape
from math import log2

from .._axes import names
from . import fmt

INK, INPUT, WEIGHT, OUTPUT = "#222", "#9ecae1", "#fdae6b", "#a1d99b"
XMLNS = "http://www.w3.org/2000/svg"  # a namespace name, never fetched


def _len(n, lo=14, hi=170):
    """Drawn length for a size n: logarithmic, clamped, so big and small sizes both show."""
    return max(lo, min(hi, 8 + 15 * log2(max(n, 1))))


def depth_scale(*channels, longest=90):
    """Pixels per channel so that the deepest of `channels` is drawn `longest` pixels deep.

    >>> depth_scale(192, 32) * 192, depth_scale(192, 32) * 32
    (90.0, 15.0)
    """
    return longest / max(channels)


def _depth(channels, scale):
    """Drawn depth of `channels` at `scale`, at least 2 px so a thin tensor still shows."""
    return max(2.0, channels * scale)


def _text(x, y, s, size=12, anchor="middle", cls="label"):
    return (f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" font-size="{size}" '
            f'text-anchor="{anchor}" fill="{INK}">{escape(str(s))}</text>')


def _poly(points, fill):
    p = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polygon points="{p}" fill="{fill}" stroke="{INK}" stroke-width="1"/>'


def _svg(width, height, body, title, depth=None):
    extra = "" if depth is None else f' data-depth="{depth:.2f}"'
    return (f'<svg xmlns="{XMLNS}" width="{width:.0f}" height="{height:.0f}"{extra} '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img"><title>{escape(title)}</title>'
            + "".join(body) + "</svg>")


def _line(x1, y1, x2, y2):
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#555" '
            'stroke-width="0.4"/>')


def _box(x0, y0, w, h, d, fill, rows=0, cols=0):
    """An isometric box: front face w x h at (x0, y0 + d), receding d up and to the right."""
    top = [(x0, y0 + d), (x0 + d, y0), (x0 + w + d, y0), (x0 + w, y0 + d)]
    side = [(x0 + w, y0 + d), (x0 + w + d, y0), (x0 + w + d, y0 + h), (x0 + w, y0 + d + h)]
    front = [(x0, y0 + d), (x0 + w, y0 + d), (x0 + w, y0 + d + h), (x0, y0 + d + h)]
    parts = [_poly(top, fill), _poly(side, fill), _poly(front, fill)]
    for i in range(1, rows):  # a few grid lines say "pixels" without drawing all 784
        y = y0 + d + h * i / rows
        parts.append(_line(x0, y, x0 + w, y))
    for i in range(1, cols):
        x = x0 + w * i / cols
        parts.append(_line(x, y0 + d, x, y0 + d + h))
    return parts


def tensor(spatial, channels, name, fill=INPUT, scale=None):
    """A channels-last tensor as a box: the last two spatial axes in front, channels in depth.

    The depth is `channels * scale` pixels (scale from depth_scale, shared by the drawings of
    one layer); the svg's data-depth attribute records it.
    """
    grid = (1,) + tuple(spatial) if len(spatial) == 1 else tuple(spatial[-2:])
    scale = depth_scale(channels) if scale is None else scale
    h, w, d = _len(grid[0]), _len(grid[1]), _depth(channels, scale)
    body = _box(20, 20, w, h, d, fill, rows=min(grid[0], 8), cols=min(grid[1], 8))
    axes = names(len(spatial), " x ")
    body += [
        _text(20 + w / 2, 20 + d + h + 16, f"{fmt.x(spatial)} ({axes})"),
        _text(20 + w + d + 6, 20 + d / 2 + 6, f"C = {channels}", anchor="start"),
        _text(20 + (w + d) / 2, 12 + d + h + 42, f"{name}: {fmt.x(tuple(spatial) + (channels,))}",
              size=13, cls="title"),
    ]
    return _svg(max(w + d + 110, 200), h + d + 70, body, f"{name} tensor", depth=d)


def filters(count, filter_shape, shown=6, scale=None):
    """The filters as thin boxes, 1 x 1 x C each for a 1x1 conv; the first few, then '...'.

    Their depth uses the tensors' scale, so a filter is exactly as deep as the input it reads
    (its group's share of it, with groups).
    """
    k, depth = filter_shape[:-1], filter_shape[-1]
    kw = _len(k[-1], lo=10, hi=40) if k[-1] > 1 else 10
    kh = _len(k[-2], lo=10, hi=40) if len(k) > 1 and k[-2] > 1 else 10
    d = _depth(depth, depth_scale(depth) if scale is None else scale)
    body, x = [], 20
    for i in range(min(count, shown)):
        body += _box(x, 24, kw, kh, d, "#fdd0a2" if i % 2 else WEIGHT)
        body.append(_text(x + kw / 2, 24 + d + kh + 14, f"#{i + 1}", size=10))
        x += kw + d + 14
    if count > shown:
        body.append(_text(x + 10, 24 + d + kh / 2, f"... #{count}", anchor="start"))
        x += 60
    body.append(_text(20, 14, f"{fmt.plural(count, 'filter')}, each {fmt.x(filter_shape)}",
                      anchor="start",
                      size=13, cls="title"))
    return _svg(max(x + 20, 260), 24 + d + kh + 30, body, "filters", depth=d)


def product(p, left_axes, right_axes, title, weight_first=False):
    """left @ right -> result as three rectangles sized by their shapes and labelled with them.

    Colours say what each block holds: input blue, weight orange, output green.
    """
    (m, k), (_, n) = p.left, p.right
    hm, wk, wn = _len(m), _len(k), _len(n)
    y0, x0 = 40, 80
    body = [_text(10, 18, title, anchor="start", size=13, cls="title")]
    first, second = (WEIGHT, INPUT) if weight_first else (INPUT, WEIGHT)
    blocks = [(p.left, wk, hm, first), (p.right, wn, wk, second), (p.result, wn, hm, OUTPUT)]
    x = x0
    for i, (shape, w, h, fill) in enumerate(blocks):
        body.append(f'<rect x="{x:.1f}" y="{y0}" width="{w:.1f}" height="{h:.1f}" '
                    f'fill="{fill}" stroke="{INK}"/>')
        body.append(_text(x + w / 2, y0 + h + 16, fmt.shape(shape), cls="shape"))
        if i < 2:
            body.append(_text(x + w + 17, y0 + min(h, hm) / 2 + 5, "@" if i == 0 else "=", size=18))
        x += w + 34
    body += [  # each axis says what it counts and how many
        _text(x0 - 6, y0 + hm / 2, left_axes[0], anchor="end", size=11),
        _text(x0 - 6, y0 + hm / 2 + 14, f"= {m:,}", anchor="end", size=11),
        _text(x0 + wk / 2, y0 - 6, f"{left_axes[1]} = {k:,}", size=11),
        _text(x0 + wk + 34 + wn / 2, y0 - 6, f"{right_axes[1]} = {n:,}", size=11),
    ]
    if p.count > 1:
        body.append(_text(x, y0 + 12, f"x {p.count:,}", anchor="start"))
        x += 50
    return _svg(x + 20, y0 + max(hm, wk) + 30, body, title)


def pattern(matrix, cell=14):
    """A small matrix as cells, non-zeros coloured and written out: the kron(W, I_P) picture."""
    rows, cols = len(matrix), len(matrix[0])
    body = []
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            fill = WEIGHT if v else "#f4f4f4"
            body.append(f'<rect x="{20 + j * cell}" y="{30 + i * cell}" width="{cell}" '
                        f'height="{cell}" fill="{fill}" stroke="#ccc" stroke-width="0.5"/>')
            if v:
                body.append(_text(20 + j * cell + cell / 2, 30 + i * cell + cell - 3, v, size=9))
    body.append(_text(20, 20, f"({rows}, {cols}) whole-image matrix", anchor="start", size=12,
                      cls="title"))
    return _svg(40 + cols * cell, 40 + rows * cell, body, "whole-image matrix")


def numbers_product(x, w, bias, y, cell=26):
    """The worked example as x @ W^T + bias = y, every cell written out, coloured by role."""
    grids = [(x, INPUT, "x"), (w, WEIGHT, "W^T"), ((bias,), WEIGHT, "bias"), (y, OUTPUT, "y")]
    body, left, top = [], 20, 34
    height = max(len(g) for g, _, _ in grids) * cell
    for i, (grid, fill, name) in enumerate(grids):
        for r, row in enumerate(grid):
            for c, v in enumerate(row):
                body.append(f'<rect x="{left + c * cell}" y="{top + r * cell}" width="{cell}" '
                            f'height="{cell}" fill="{fill}" stroke="{INK}" stroke-width="0.5"/>')
                body.append(_text(left + c * cell + cell / 2, top + r * cell + cell / 2 + 4, v))
        width = len(grid[0]) * cell
        label = name if name == "bias" else f"{name} {fmt.shape((len(grid), len(grid[0])))}"
        body.append(_text(left + width / 2, top - 8, label, cls="shape"))
        left += width
        if i < 3:
            body.append(_text(left + 16, top + cell / 2 + 6, "@+="[i], size=18))
            left += 32
    return _svg(left + 20, top + height + 16, body, "worked example as one matrix product")
