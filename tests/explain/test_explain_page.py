"""The interactive page, driven in headless Chromium as a reader would use it.

A mouse press on an output pixel, typing into the size fields: the page's numbers (which its
own JavaScript computes) must be the library's: onebyone.explain's facts for the same sizes and
onebyone.conv1x1 on the same example values (onebyone.explanation.page_data, the page's twin).
`python tests/explain/test_explain_page.py` refreshes docs/explain-page.png.
"""
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

import onebyone
from onebyone.explanation import general, page_data
from onebyone.explanation.html import write_html

from cdp import Browser

SHOT = Path(__file__).resolve().parents[2] / "docs" / "explain-page.png"


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    with Browser(chromium, tmp_path_factory.mktemp("profile")) as b:
        yield b


def _open(browser, folder, shape, **options):
    path = Path(folder) / "page.html"
    write_html([onebyone.explain(shape, **options)], path)
    browser.open(path.as_uri())


def _state(browser):
    return json.loads(browser.js("document.getElementById('state').textContent"))


def _click_pixel(browser, i, j):
    """Press the mouse on the centre of output pixel (i, j), where the reader would."""
    box = json.loads(browser.js("JSON.stringify(document.getElementById('out-grid')"
                                ".getBoundingClientRect())"))
    cell = float(browser.js("document.getElementById('out-grid').dataset.cell"))
    browser.click(box["x"] + 1 + (j + 0.5) * cell, box["y"] + 1 + (i + 0.5) * cell)


def _type(browser, field, value):
    browser.type_into(f"#in-{field}", str(value))


def _page_sizes(state):
    L = state["facts"]["layer"]
    return dict(cin=L["in_channels"], h=L["input_size"][0], w=L["input_size"][1],
                cout=L["out_channels"], groups=L["groups"], stride=L["stride"][0],
                padding=L["padding"][0], bias=L["bias"])


def _assert_facts_are_the_librarys(state, e):
    """Every number the page computed equals the same field of onebyone.explain(...)."""
    facts, ours = state["facts"], json.loads(json.dumps(e.as_dict()))  # tuples -> lists
    for group in ("weights", "cost", "whole_image"):
        for key, value in facts[group].items():
            assert value == ours[group][key], (group, key)
    for key, value in facts["matrix"].items():
        want = ours["matrix"][key]
        assert (value == {k: want[k] for k in value}) if isinstance(value, dict) else value == want, key
    assert facts["layer"] == {k: ours["layer"][k] for k in facts["layer"]}
    assert facts["pixels_read"] == general.pixels_read(e.layer)


def _reference(state):
    """onebyone.conv1x1 on the page's example values, for the page's current sizes."""
    s = _page_sizes(state)
    x, w, b = page_data.example_tensors(s["cin"], s["h"], s["w"], s["cout"], s["groups"], s["bias"])
    return x, w, onebyone.conv1x1(x, w, b if s["bias"] else None, stride=s["stride"],
                                  padding=s["padding"], groups=s["groups"])[0]


def _assert_dot_product_is_the_librarys(state):
    x, w, y = _reference(state)
    d = state["dot"]
    (i, j), o = d["pixel"], d["out_channel"]
    s = _page_sizes(state)
    cin_g = s["cin"] // s["groups"]
    first = (o // (s["cout"] // s["groups"])) * cin_g
    r, c = i * s["stride"] - s["padding"], j * s["stride"] - s["padding"]
    inside = 0 <= r < s["h"] and 0 <= c < s["w"]
    column = x[0, first:first + cin_g, r, c] if inside else np.zeros(cin_g)
    assert [t[0] for t in d["terms"]] == w[o].tolist()  # the filter, weight by weight
    assert [t[1] for t in d["terms"]] == column.tolist()  # the input column it reads
    assert d["value"] == y[o, i, j]
    assert state["column"] == y[:, i, j].tolist()  # every output channel at that pixel
    assert state["dot_text"].rstrip().endswith(f"= {d['value']:g}")
    assert ("…" in state["dot_text"]) == (cin_g > 8)  # a long sum is shortened, never its total


@pytest.mark.parametrize("shape, options", [
    ("28x28x192", {"filters": 32}),
    ("7x7x16", {"filters": 8, "stride": 2, "padding": 1}),
    ("14x14x64", {"filters": 64, "groups": 4}),
    ("9x7x1", {"filters": 16, "bias": False}),
])
def test_page_starts_with_the_layers_numbers(browser, tmp_path, shape, options):
    _open(browser, tmp_path, shape, **options)
    state = _state(browser)
    assert "error" not in state, state
    _assert_facts_are_the_librarys(state, onebyone.explain(shape, **options))
    _assert_dot_product_is_the_librarys(state)


def test_clicking_a_pixel_shows_its_column_filter_and_dot_product(browser, tmp_path):
    _open(browser, tmp_path, "28x28x192", filters=32)
    for i, j in [(3, 2), (27, 0), (13, 21)]:
        _click_pixel(browser, i, j)
        state = _state(browser)
        assert state["dot"]["pixel"] == [i, j]
        _assert_dot_product_is_the_librarys(state)
    # a channel of the output column picks the filter: the press lands on its drawn cell
    box = json.loads(browser.js("JSON.stringify(document.querySelector("
                                "'#col-out [data-channel=\"5\"]').getBoundingClientRect())"))
    browser.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    state = _state(browser)
    assert state["dot"]["out_channel"] == 5 and state["dot"]["pixel"] == [13, 21]
    _assert_dot_product_is_the_librarys(state)


@pytest.mark.parametrize("edits", [
    {"in_channels": 64},
    {"in_channels": 64, "stride": 2, "padding": 1, "groups": 4},
    {"height": 5, "width": 9, "out_channels": 6, "groups": 2, "batch": 3, "stride": 3},
    {"in_channels": 8, "groups": 8, "out_channels": 8, "padding": 2},  # depthwise
])
def test_typed_sizes_recompute_every_number(browser, tmp_path, edits):
    _open(browser, tmp_path, "28x28x192", filters=32)
    _click_pixel(browser, 2, 1)
    for field, value in edits.items():
        _type(browser, field, value)
    state = _state(browser)
    assert "error" not in state, state
    s = _page_sizes(state)
    assert {k: s[k] for k in ("cin", "groups", "stride", "padding")} == {
        "cin": edits.get("in_channels", 192), "groups": edits.get("groups", 1),
        "stride": edits.get("stride", 1), "padding": edits.get("padding", 0)}
    e = onebyone.explain((edits.get("batch", 1), s["cin"], s["h"], s["w"]), layout="nchw",
                         filters=s["cout"], stride=s["stride"], padding=s["padding"],
                         groups=s["groups"])
    _assert_facts_are_the_librarys(state, e)
    _assert_dot_product_is_the_librarys(state)


def test_a_size_the_library_refuses_gets_the_librarys_message(browser, tmp_path):
    _open(browser, tmp_path, "28x28x192", filters=32)
    _type(browser, "groups", 5)
    with pytest.raises(onebyone.OneByOneError) as refused:
        onebyone.explain("28x28x192", filters=32, groups=5)
    assert _state(browser) == {"error": str(refused.value)}
    assert browser.js("document.getElementById('error').textContent") == str(refused.value)


@pytest.mark.parametrize("shape, filters", [("28x28x192", 32), ("14x14x16", 96)])
def test_channel_bars_are_drawn_to_one_scale(browser, tmp_path, shape, filters):
    _open(browser, tmp_path, shape, filters=filters)
    heights = {bar: float(browser.js(f"document.querySelector('#{bar} .bar')"
                                     ".getBoundingClientRect().height"))
               for bar in ("col-in", "col-w", "col-out")}
    cin = int(shape.split("x")[-1])
    assert heights["col-in"] * filters == pytest.approx(heights["col-out"] * cin)  # 192 : 32
    assert heights["col-w"] == heights["col-in"]  # the filter is as deep as what it reads
    assert heights["col-out"] == pytest.approx(filters * _state(browser)["unit"])
    assert max(heights.values()) > 100  # the deeper side is drawn big enough to compare


def test_one_input_channel_shows_a_photo_and_its_scaled_copies(browser, tmp_path):
    _open(browser, tmp_path, "28x28x1", filters=16)
    copies = _state(browser)["copies"]
    x, w, y = _reference(_state(browser))
    assert [c["o"] for c in copies] == list(range(16))
    for c in copies:
        assert np.array_equal(c["values"], y[c["o"]])  # what the page drew is the conv's output
        assert np.array_equal(np.asarray(c["values"]) - c["bias"], c["weight"] * x[0, 0])
    photo = x[0, 0]
    assert len(np.unique(photo)) == 10  # grey levels 0..9
    # a picture, not noise: neighbouring pixels agree far more than chance would make them
    assert np.corrcoef(photo[:, :-1].ravel(), photo[:, 1:].ravel())[0, 1] > 0.6
    drawn = int(browser.js("document.querySelectorAll('#copies canvas').length"))
    assert drawn == 1 + 16  # the input and its 16 copies


def test_the_button_switches_to_one_channel(browser, tmp_path):
    _open(browser, tmp_path, "14x14x64", filters=8, groups=4)
    box = json.loads(browser.js("JSON.stringify(document.querySelector('#copies button')"
                                ".getBoundingClientRect())"))
    browser.click(box["x"] + 5, box["y"] + 5)
    state = _state(browser)
    assert _page_sizes(state)["cin"] == 1 and _page_sizes(state)["groups"] == 1
    assert len(state["copies"]) == 8
    _assert_dot_product_is_the_librarys(state)


def _screenshot(browser, folder):
    _open(browser, folder, "28x28x192", filters=32)
    _click_pixel(browser, 3, 2)
    return browser.screenshot()


def test_screenshot_shows_the_page_and_docs_keep_one(browser, tmp_path):
    import io

    import matplotlib.image

    image = matplotlib.image.imread(io.BytesIO(_screenshot(browser, tmp_path)), format="png")
    assert image.std() > 0.05  # not blank
    assert SHOT.exists(), f"refresh it: python {Path(__file__).name}"
    assert "explain-page.png" in (SHOT.parent / "explain.md").read_text()


if __name__ == "__main__":
    from conftest import CHROMIUM

    with tempfile.TemporaryDirectory() as folder, Browser(CHROMIUM, Path(folder) / "p") as b:
        SHOT.write_bytes(_screenshot(b, folder))
    print(f"wrote {SHOT}")
