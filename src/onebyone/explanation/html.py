"""The HTML rendering: one self-contained page (inline CSS, SVG and script, no network).

The page opens with the interactive part (page.py) for the first layer, then the answers in
words (as the text prints them), then the static facts:
tables, drawings and notes, which read the same with JavaScript off.
"""
from html import escape

from .._files import write_atomic
from . import fmt, page, rows, svg

STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 24px auto; padding: 0 16px;
       color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
td { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }
td:first-child { color: #075; white-space: nowrap; }
.drawings { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-end; }
dt { font-weight: bold; margin-top: 8px; } dd { margin-left: 16px; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; }
"""


def to_html(explanations):
    """One page explaining each layer in `explanations` (a list of Explanation).

    >>> import onebyone
    >>> page = to_html([onebyone.explain("28x28x192", filters=32)])
    >>> "<svg" in page and "(784, 192)" in page and "http://" not in page.replace(svg.XMLNS, "")
    True
    """
    body = "".join(_layer(e, first=i == 0) for i, e in enumerate(explanations))
    title = escape(fmt.layer_title(explanations[0].layer))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{STYLE}{page.STYLE}</style></head><body>{body}</body></html>\n")


def write_html(explanations, path):
    """Write to_html(explanations) to `path`, whole or not at all."""
    text = to_html(explanations).encode("utf-8")
    write_atomic(path, lambda f: f.write(text), mode="wb")


def _layer(e, first):
    L, m = e.layer, e.matrix
    depth = svg.depth_scale(L.in_channels, L.out_channels)  # one scale: 192 reads 6x 32
    parts = [f"<h1>{escape(fmt.layer_title(L))}</h1><p>{escape(rows.header(L))}</p>",
             page.section(L) if first else "",
             _answers(e.answers),  # after the interactive part, which opens the page
             "<h2>The layer you asked about</h2>" if first else "",
             '<div class="drawings">',
             svg.tensor(L.input_size, L.in_channels, "input", scale=depth),
             svg.filters(e.weights.filters, e.weights.filter_shape, scale=depth),
             svg.tensor(L.output_size, L.out_channels, "output", fill=svg.OUTPUT, scale=depth),
             "</div>"]
    for title, pairs in rows.sections(e):
        parts.append(f"<h2>{escape(title)}</h2>")
        if title.startswith("The matrix product"):
            parts.append('<div class="drawings">')
            depth = "Cin" if m.im2col_is_identity else "Cin*K"
            per = "/groups" if L.groups > 1 else ""
            pixels = {1: "L", 2: "H*W", 3: "D*H*W"}[L.dims]
            parts.append(svg.product(m.channels_last, (f"N*{pixels}", depth + per),
                                     ("", "Cout" + per), "channels-last: pixels as rows"))
            parts.append(svg.product(m.channels_first, ("Cout" + per, depth + per),
                                     ("", pixels), "channels-first: pixels as columns",
                                     weight_first=True))
            parts.append("</div>")
        parts.append(_table(pairs))
    if e.notes:
        items = "".join(f"<li>{escape(n.text)}</li>" for n in e.notes)
        parts.append(f"<h2>Notes</h2><ul>{items}</ul>")
    if e.example is not None:
        first, *rest = rows.example_lines(e.example)
        parts.append(f"<h2>{escape(first)}</h2>")
        ex = e.example
        parts.append(svg.numbers_product(ex.gemm_x, ex.gemm_w, ex.bias, ex.gemm_y))
        parts.append(svg.pattern(ex.whole_image))
        # The example keeps the layer's kernel, stride and padding, so the layer's structure
        # sentence is the example's too (the identity only for a plain 1x1, stride 1, no padding).
        parts.append(f"<p>The whole-image matrix: {escape(e.whole_image.structure)}.</p>")
        parts.append(f"<pre>{escape(chr(10).join(rest))}</pre>")
    parts.append("<h2>PyTorch code</h2><p>Runs as is (python -c or a file); it asserts the "
                 f"forms agree.</p><pre>{escape(e.pytorch_code)}</pre>")
    return f"<section>{''.join(parts)}</section>"


def _answers(answers):
    """The questions, answered in words for this layer, before the evidence (as the text has)."""
    items = "".join(f"<dt>{escape(a.question)}</dt><dd>{escape(a.answer)}</dd>" for a in answers)
    return f"<h2>Answers</h2><dl>{items}</dl>"


def _table(pairs):
    cells = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in pairs)
    return f"<table>{cells}</table>"
