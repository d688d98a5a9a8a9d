"""The HTML rendering: one self-contained page (inline CSS, SVG and script, no network).

The page opens with the interactive part (play_section) for the first layer, then the answers
in words (as the text prints them), then the static facts: tables, drawings (svg.py) and notes,
which read the same with JavaScript off.

The interactive part lets the reader change sizes, click pixels and follow the numbers. Its
scripts (page_formulas.js, page_view.js and page_play.js, read from this package) and the
photograph (as numbers) are inline, so the page works from a file with no network; readers
without JavaScript see a line saying so. The page makes up its example values in the browser,
for whatever sizes the reader picks, with the integer hash mix(); page_values.py is the Python
twin of those value functions (same names as in page_view.js) and a test compares the two. Small integers keep every dot
product exact, in JavaScript as in float64. For one input channel the input is a real
photograph, shipped with matplotlib (its sample "grace_hopper.jpg"), shrunk to PHOTO x PHOTO
grey levels 0..9: a picture, not noise, so that its Cout scaled copies read as copies at a
glance.
"""
import json
from functools import lru_cache
from html import escape
from importlib import resources

from .._axes import names
from .._files import write_atomic
from . import fmt, svg
from .example import example_lines
from .page_values import photo


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
            f"<style>{STYLE}{PLAY_STYLE}</style></head><body>{body}</body></html>\n")


def write_html(explanations, path):
    """Write to_html(explanations) to `path`, whole or not at all."""
    text = to_html(explanations).encode("utf-8")
    write_atomic(path, lambda f: f.write(text), mode="wb")


def _layer(e, first):
    L, m = e.layer, e.matrix
    depth = svg.depth_scale(L.in_channels, L.out_channels)  # one scale: 192 reads 6x 32
    parts = [f"<h1>{escape(fmt.layer_title(L))}</h1><p>{escape(fmt.header(L))}</p>",
             play_section(L) if first else "",
             _answers(e.answers),  # after the interactive part, which opens the page
             "<h2>The layer you asked about</h2>" if first else "",
             '<div class="drawings">',
             svg.tensor(L.input_size, L.in_channels, "input", scale=depth),
             svg.filters(e.weights.filters, e.weights.filter_shape, scale=depth),
             svg.tensor(L.output_size, L.out_channels, "output", fill=svg.OUTPUT, scale=depth),
             "</div>"]
    for title, pairs in fmt.sections(e):
        parts.append(f"<h2>{escape(title)}</h2>")
        if title.startswith("The matrix product"):
            parts.append('<div class="drawings">')
            depth = "Cin" if m.im2col_is_identity else "Cin*K"
            per = "/groups" if L.groups > 1 else ""
            pixels = names(L.dims, "*")
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
        first, *rest = example_lines(e.example)
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


# The interactive part: sizes to change, pixels to click, numbers that follow.

SCRIPTS = ("page_formulas.js", "page_view.js", "page_play.js")
FIELDS = (("batch", "N"), ("height", "H"), ("width", "W"), ("in_channels", "Cin"),
          ("out_channels", "Cout"), ("groups", "groups"), ("stride", "stride"),
          ("padding", "padding"))

PLAY_STYLE = """
#play .controls { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; }
#play .controls label { font-size: 14px; }
#play input[type=number] { width: 64px; }
#play .stage { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; margin: 12px 0; }
#play figure { margin: 0; } #play figcaption { font-size: 12px; color: #444; max-width: 280px; }
#play canvas { image-rendering: pixelated; border: 1px solid #ccc; cursor: crosshair; }
#play svg text { font-size: 12px; }
#play .dot { font-family: monospace; white-space: pre-wrap; background: #fff8e6; padding: 8px; }
#play .error { color: #b00; min-height: 1em; }
#copies { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-end; }
#copies canvas { cursor: default; }
#state { display: none; }
"""


@lru_cache(maxsize=1)
def _scripts():
    """One inline <script> per file, in order: they share the page's global scope."""
    folder, parts = resources.files(__package__), []
    for name in SCRIPTS:
        code = folder.joinpath(name).read_text(encoding="utf-8")
        assert "</" not in code, f"{name} would close its <script> element early"
        parts.append(f'<script id="{name[:-3].replace("_", "-")}">\n{code}</script>')
    return "\n".join(parts)


def start_values(layer):
    """The page's first sizes: the 2-D layer's own.

    >>> from onebyone.explanation import explain
    >>> start_values(explain("28x28x192", filters=32, stride=2).layer)["stride"]
    2
    """
    return {"batch": layer.batch, "height": layer.input_size[0], "width": layer.input_size[1],
            "in_channels": layer.in_channels, "out_channels": layer.out_channels,
            "groups": layer.groups, "stride": layer.stride[-1], "padding": layer.padding[-1],
            "bias": layer.bias}


def play_section(layer):
    """The interactive section for a 2-D `layer`; for 1-D and 3-D, a sentence saying so."""
    if layer.dims != 2:
        return (f'<section id="play"><p>The interactive view draws 2-D layers; this one is '
                f"{layer.dims}-D, so it has the tables and drawings below.</p></section>")
    data = {"layer": start_values(layer), "photo": photo()}
    inputs = "".join(f'<label>{label} <input type="number" id="in-{name}" min="0"></label>'
                     for name, label in FIELDS)
    differs = ""
    if any(k != 1 for k in layer.kernel) or len(set(layer.stride)) > 1 \
            or len(set(layer.padding)) > 1:
        differs = (" It plays with a 1x1 conv with one stride and one padding for both axes; "
                   "your layer's exact numbers are in the tables below.")
    # "</" cannot end the JSON's script element early: every "/" after "<" is escaped.
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return f"""<section id="play"><h2>Play with it</h2>
<noscript><p>This part needs JavaScript; the tables and drawings below do not.</p></noscript>
<div id="play-area" hidden>
<p>Change a size, then click or hover an output pixel: the page shows the input column it reads,
the filter, and the dot product with the example's numbers (small integers made up by the page,
the same for any size; with one input channel, a photograph).{differs}</p>
<div class="controls">{inputs}<label><input type="checkbox" id="in-bias"> bias</label></div>
<p class="error" id="error"></p><p id="clamped"></p>
<div class="stage">
<figure><canvas id="in-grid"></canvas><figcaption id="in-cap"></figcaption></figure>
<figure><svg id="columns" xmlns="http://www.w3.org/2000/svg" width="340" height="200"></svg>
<figcaption>the input column · the filter → the output column (bars to scale; click a channel of
the output column)</figcaption></figure>
<figure><canvas id="out-grid"></canvas><figcaption id="out-cap"></figcaption></figure>
</div>
<p class="dot" id="dot"></p>
<div id="copies"></div>
<table id="live"></table>
<pre id="state"></pre>
</div>
<script type="application/json" id="onebyone-data">{payload}</script>
{_scripts()}
</section>"""
