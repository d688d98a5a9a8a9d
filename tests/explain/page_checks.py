"""What the page tests do and check: open a page, press and type like a reader, read its state.

The checks compare the page's numbers with onebyone.explain's facts for the same sizes and with
onebyone.conv1x1 on the same example values (onebyone.explanation.page_values, the page's twin).
"""
import json
from pathlib import Path

import numpy as np

import onebyone
from onebyone.explanation import compute, page_values
from onebyone.explanation.page import write_html


def open_page(browser, folder, shape, **options):
    path = Path(folder) / "page.html"
    write_html([onebyone.explain(shape, **options)], path)
    browser.open(path.as_uri())


def read_state(browser):
    return json.loads(browser.js("document.getElementById('state').textContent"))


def box_of(browser, selector):
    return json.loads(browser.js(f"JSON.stringify(document.querySelector({json.dumps(selector)})"
                                 ".getBoundingClientRect())"))


def click_pixel(browser, i, j, hover=False):
    """Press the mouse on the centre of output pixel (i, j), where the reader would."""
    box = box_of(browser, "#out-grid")
    cell = float(browser.js("document.getElementById('out-grid').dataset.cell"))
    at = (box["x"] + 1 + (j + 0.5) * cell, box["y"] + 1 + (i + 0.5) * cell)  # 1: the border
    (browser.hover if hover else browser.click)(*at)


def type_size(browser, field, value):
    browser.type_into(f"#in-{field}", str(value))


def page_sizes(state):
    L = state["facts"]["layer"]
    return dict(cin=L["in_channels"], h=L["input_size"][0], w=L["input_size"][1],
                cout=L["out_channels"], groups=L["groups"], stride=L["stride"][0],
                padding=L["padding"][0], bias=L["bias"])


def assert_facts(state, e):
    """Every number the page computed equals the same field of onebyone.explain(...)."""
    facts, ours = state["facts"], json.loads(json.dumps(e.as_dict()))  # tuples -> lists
    for group in ("weights", "cost", "whole_image"):
        for key, value in facts[group].items():
            assert value == ours[group][key], (group, key)
    for key, value in facts["matrix"].items():
        want = ours["matrix"][key]
        if isinstance(value, dict):  # a product: the page has its shapes, not its words
            want = {k: want[k] for k in value}
        assert value == want, key
    assert facts["layer"] == {k: ours["layer"][k] for k in facts["layer"]}
    assert facts["pixels_read"] == compute.pixels_read(e.layer)


def reference(state):
    """onebyone.conv1x1 on the page's example values, for the page's current sizes."""
    s = page_sizes(state)
    x, w, b = page_values.example_tensors(s["cin"], s["h"], s["w"], s["cout"], s["groups"], s["bias"])
    return x, w, onebyone.conv1x1(x, w, b if s["bias"] else None, stride=s["stride"],
                                  padding=s["padding"], groups=s["groups"])[0]


def assert_dot_product(state):
    x, w, y = reference(state)
    d = state["dot"]
    (i, j), o = d["pixel"], d["out_channel"]
    s = page_sizes(state)
    cin_g = s["cin"] // s["groups"]
    first = (o // (s["cout"] // s["groups"])) * cin_g
    r, c = i * s["stride"] - s["padding"], j * s["stride"] - s["padding"]
    inside = 0 <= r < s["h"] and 0 <= c < s["w"]
    column = x[0, first:first + cin_g, r, c] if inside else np.zeros(cin_g)
    assert [t[0] for t in d["terms"]] == w[o].tolist()  # the filter, weight by weight
    assert [t[1] for t in d["terms"]] == column.tolist()  # the input column it reads
    assert d["value"] == y[o, i, j]
    assert state["column"] == y[:, i, j].tolist()  # every output channel at that pixel
    shown_total = f"= {d['value']:g}" + ("" if s["bias"] else " (no bias)")
    assert state["dot_text"].endswith(shown_total)
    assert ("…" in state["dot_text"]) == (cin_g > 8)  # a long sum is shortened, never its total
