"""The interactive page, driven in headless Chromium as a reader would use it.

A mouse press on an output pixel, typing into the size fields: the page's numbers (which its
own JavaScript computes) must be the library's: onebyone.explain's facts for the same sizes and
onebyone.conv1x1 on the same example values (onebyone.explanation.page, the page's twin).
`python tests/explain/test_explain_page.py` refreshes docs/explain-page.png.
"""
import tempfile
from pathlib import Path

import numpy as np
import pytest

import onebyone
from onebyone.explanation.page import write_html

import page_checks as check
from cdp import Browser

SHOT = Path(__file__).resolve().parents[2] / "docs" / "explain-page.png"


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    with Browser(chromium, tmp_path_factory.mktemp("profile")) as b:
        yield b


@pytest.mark.parametrize("shape, options", [
    ("28x28x192", {"filters": 32}),
    ("7x7x16", {"filters": 8, "stride": 2, "padding": 1}),
    ("14x14x64", {"filters": 64, "groups": 4}),
    ("9x7x1", {"filters": 16, "bias": False}),
])
def test_page_starts_with_the_layers_numbers(browser, tmp_path, shape, options):
    check.open_page(browser, tmp_path, shape, **options)
    state = check.read_state(browser)
    assert "error" not in state, state
    check.assert_facts(state, onebyone.explain(shape, **options))
    check.assert_dot_product(state)


def test_clicking_a_pixel_shows_its_column_filter_and_dot_product(browser, tmp_path):
    check.open_page(browser, tmp_path, "28x28x192", filters=32)
    for i, j in [(3, 2), (27, 0), (13, 21)]:
        check.click_pixel(browser, i, j)
        state = check.read_state(browser)
        assert state["dot"]["pixel"] == [i, j]
        check.assert_dot_product(state)
    # a channel of the output column picks the filter: the press lands on its drawn cell
    box = check.box_of(browser, '#col-out [data-channel="5"]')
    browser.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    state = check.read_state(browser)
    assert state["dot"]["out_channel"] == 5 and state["dot"]["pixel"] == [13, 21]
    check.assert_dot_product(state)
    check.click_pixel(browser, 20, 6, hover=True)  # hovering shows a pixel too
    state = check.read_state(browser)
    assert state["dot"]["pixel"] == [20, 6] and state["dot"]["out_channel"] == 5
    check.assert_dot_product(state)


def test_big_layers_start_at_the_pages_largest_and_say_so(browser, tmp_path):
    check.open_page(browser, tmp_path, "300x20x1024", filters=2048)
    state = check.read_state(browser)
    assert check.page_sizes(state)["h"] == 256 and check.page_sizes(state)["cin"] == 1024
    note = browser.js("document.getElementById('clamped').textContent")
    assert "height 256 (yours: 300)" in note
    check.assert_facts(state, onebyone.explain("256x20x1024", filters=2048))
    # 2048 channels are under a pixel each: a press on the bar still picks the channel under it
    box, unit = check.box_of(browser, "#col-out .bar"), state["unit"]
    assert unit < 1
    browser.click(box["x"] + box["width"] / 2, box["y"] + 1500.5 * unit)
    state = check.read_state(browser)
    assert abs(state["dot"]["out_channel"] - 1500) <= 1 / unit  # the mouse moves in whole pixels
    check.assert_dot_product(state)


@pytest.mark.parametrize("edits", [
    {"in_channels": 64},
    {"in_channels": 64, "stride": 2, "padding": 1, "groups": 4},
    {"height": 5, "width": 9, "out_channels": 6, "groups": 2, "batch": 3, "stride": 3},
    {"in_channels": 8, "groups": 8, "out_channels": 8, "padding": 2},  # depthwise
])
def test_typed_sizes_recompute_every_number(browser, tmp_path, edits):
    check.open_page(browser, tmp_path, "28x28x192", filters=32)
    check.click_pixel(browser, 2, 1)
    for field, value in edits.items():
        check.type_size(browser, field, value)
    state = check.read_state(browser)
    assert "error" not in state, state
    s = check.page_sizes(state)
    assert {k: s[k] for k in ("cin", "groups", "stride", "padding")} == {
        "cin": edits.get("in_channels", 192), "groups": edits.get("groups", 1),
        "stride": edits.get("stride", 1), "padding": edits.get("padding", 0)}
    e = onebyone.explain((edits.get("batch", 1), s["cin"], s["h"], s["w"]), layout="nchw",
                         filters=s["cout"], stride=s["stride"], padding=s["padding"],
                         groups=s["groups"])
    check.assert_facts(state, e)
    check.assert_dot_product(state)


def test_a_size_the_library_refuses_gets_the_librarys_message(browser, tmp_path):
    check.open_page(browser, tmp_path, "28x28x192", filters=32)
    check.type_size(browser, "groups", 5)
    with pytest.raises(onebyone.OneByOneError) as refused:
        onebyone.explain("28x28x192", filters=32, groups=5)
    assert check.read_state(browser) == {"error": str(refused.value)}
    assert browser.js("document.getElementById('error').textContent") == str(refused.value)


@pytest.mark.parametrize("shape, filters", [("28x28x192", 32), ("14x14x16", 96)])
def test_channel_bars_are_drawn_to_one_scale(browser, tmp_path, shape, filters):
    check.open_page(browser, tmp_path, shape, filters=filters)
    heights = {bar: float(browser.js(f"document.querySelector('#{bar} .bar')"
                                     ".getBoundingClientRect().height"))
               for bar in ("col-in", "col-w", "col-out")}
    cin = int(shape.split("x")[-1])
    assert heights["col-in"] * filters == pytest.approx(heights["col-out"] * cin)  # 192 : 32
    assert heights["col-w"] == heights["col-in"]  # the filter is as deep as what it reads
    assert heights["col-out"] == pytest.approx(filters * check.read_state(browser)["unit"])
    assert max(heights.values()) > 100  # the deeper side is drawn big enough to compare


def test_one_input_channel_shows_a_photo_and_its_scaled_copies(browser, tmp_path):
    check.open_page(browser, tmp_path, "28x28x1", filters=16)
    copies = check.read_state(browser)["copies"]
    x, w, y = check.reference(check.read_state(browser))
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
    labels = browser.js("[...document.querySelectorAll('#columns text')].map(t => t.textContent)"
                        ".join('|')")
    assert "|1 channel|" in f"|{labels}|" and "1 channels" not in labels, labels  # one, not 'ones'


def test_the_button_switches_to_one_channel(browser, tmp_path):
    check.open_page(browser, tmp_path, "14x14x64", filters=8, groups=4)
    box = check.box_of(browser, "#copies button")
    browser.click(box["x"] + 5, box["y"] + 5)
    state = check.read_state(browser)
    assert check.page_sizes(state)["cin"] == 1 and check.page_sizes(state)["groups"] == 1
    assert len(state["copies"]) == 8
    check.assert_dot_product(state)


def test_without_javascript_the_static_facts_remain(chromium, tmp_path):
    with Browser(chromium, tmp_path / "profile") as b:
        b.page("Emulation.setScriptExecutionDisabled", value=True)
        path = tmp_path / "page.html"
        e = onebyone.explain("28x28x192", filters=32)
        write_html([e], path)
        b.open(path.as_uri(), ready="true")
        root = b.page("DOM.getDocument")["root"]["nodeId"]
        dom = b.page("DOM.getOuterHTML", nodeId=root)["outerHTML"]
    assert '<div id="play-area" hidden="">' in dom  # the script never ran to show it
    assert "This part needs JavaScript" in dom
    p = e.matrix.channels_last
    assert f"{p.left} @ {p.right} -&gt; {p.result}" in dom and "C = 192" in dom


def _screenshot(browser, folder):
    check.open_page(browser, folder, "28x28x192", filters=32)
    check.click_pixel(browser, 3, 2)
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
