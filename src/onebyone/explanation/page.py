"""The interactive part of the HTML page: sizes to change, pixels to click, numbers that follow.

Everything is inline (the scripts page_formulas.js, page_view.js and page_play.js, read from this
package, and the photograph as numbers), so the page works from a file with no network. Readers
without JavaScript see a line saying so, and the static tables and drawings after it.
"""
import json
from functools import lru_cache
from importlib import resources

from . import page_data

SCRIPTS = ("page_formulas.js", "page_view.js", "page_play.js")
FIELDS = (("batch", "N"), ("height", "H"), ("width", "W"), ("in_channels", "Cin"),
          ("out_channels", "Cout"), ("groups", "groups"), ("stride", "stride"),
          ("padding", "padding"))

STYLE = """
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


def section(layer):
    """The interactive section for a 2-D `layer`; for 1-D and 3-D, a sentence saying so."""
    if layer.dims != 2:
        return (f'<section id="play"><p>The interactive view draws 2-D layers; this one is '
                f"{layer.dims}-D, so it has the tables and drawings below.</p></section>")
    data = {"layer": start_values(layer), "photo": page_data.photo()}
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
