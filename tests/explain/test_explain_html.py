"""The HTML page is self-contained and renders in headless Chromium, drawings and labels.

What the page's script does when a reader clicks and types is in test_explain_page.py.
"""
import re
import subprocess

import numpy as np
import pytest

import onebyone
from onebyone.explanation.page import to_html, write_html

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    e = onebyone.explain("28x28x192", filters=32, example=True)
    path = tmp_path_factory.mktemp("html") / "explain.html"
    write_html([e], path)
    return e, path


def _chromium(chromium, tmp_path, *args):
    argv = [chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_page_is_self_contained(page):
    text = page[1].read_text(encoding="utf-8")
    assert "<link" not in text and "@import" not in text and "fetch(" not in text
    assert re.findall(r"(?:src|href)\s*=", text) == []  # every script and style is inline
    assert text.count("<script") == 4  # the example's data, the formulas, the view, the play
    assert set(re.findall(r"https?://[^\s\"')]+", text)) == {"http://www.w3.org/2000/svg"}


def test_static_channel_depth_is_drawn_to_one_scale(page):
    """192 input channels are drawn 6 times as deep as 32 output ones, a filter as its input."""
    depths = [float(d) for d in re.findall(r'data-depth="([0-9.]+)"', page[1].read_text())]
    tensor_in, filters, tensor_out = depths
    assert tensor_in == pytest.approx(6 * tensor_out, abs=0.01) and filters == tensor_in


def test_labels_render_in_chromium(page, chromium, tmp_path):
    e, path = page
    dom = _chromium(chromium, tmp_path, "--dump-dom", path.as_uri())
    svg_text = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", dom))
    p = e.matrix.channels_last
    for label in ["(784, 192)", "(192, 32)", "(784, 32)", "(32, 784)", "C = 192", "C = 32",
                  "32 filters, each 1x1x192", "input: 28x28x192", "output: 28x28x32",
                  "(8, 12) whole-image matrix"]:
        assert label in svg_text, label
    assert f"{p.left} @ {p.right} -&gt; {p.result}" in dom  # the table row, HTML-escaped
    # input, filters, output, two products, the example as a product and as one matrix,
    # and the interactive part's channel columns
    assert dom.count("<svg") == 8
    assert "x (4, 3)" in svg_text and "W^T (3, 2)" in svg_text and "y (4, 2)" in svg_text
    assert "The three agree exactly" in dom
    assert '<div id="play-area">' in dom  # the script ran and showed the interactive part



def test_screenshot_is_a_drawing(page, chromium, tmp_path):
    import matplotlib.image

    png = tmp_path / "shot.png"
    _chromium(chromium, tmp_path, f"--screenshot={png}", "--window-size=1000,3000",
              page[1].as_uri())
    image = matplotlib.image.imread(png)[..., :3]  # floats in [0, 1]
    assert image.shape[:2] == (3000, 1000)  # tall: the static drawings follow the play area
    assert image.std() > 0.05  # not a blank page
    colours = {tuple(c) for c in np.round(image.reshape(-1, 3) * 255).astype(int)[::7]}
    for hex_colour in ("#9ecae1", "#fdae6b", "#a1d99b"):  # input, weight and output fills drew
        rgb = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
        assert rgb in colours, hex_colour


def test_several_layers_make_one_page():
    layers = [onebyone.explain("14x14x64", filters=16), onebyone.explain("14x14x16", filters=64)]
    page = to_html(layers)
    assert page.count("<section>") == 2 and page.count("<html") == 1


@pytest.mark.parametrize("shape, options", [
    ("9x5", {"dims": 1, "filters": 4, "example": True}),
    ("4x6x6x8", {"dims": 3, "filters": 8, "groups": 8, "example": True}),
    ("32x32x3", {"filters": 32, "kernel": 3, "padding": 1, "stride": 2}),
    ("7x7x1", {"filters": 1, "no_bias": True}),
])
def test_every_kind_of_layer_renders(shape, options):
    options = dict(options)
    bias = not options.pop("no_bias", False)
    e = onebyone.explain(shape, bias=bias, **options)
    page = to_html([e])
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", page)
    assert f"C = {e.layer.in_channels}" in labels
    assert str(e.matrix.channels_last.left).replace(" ", "") in [s.replace(" ", "") for s in labels]


def test_page_formulas_name_the_python_functions_they_mirror():
    """Every function of the page's formula block names its Python twin, and that twin exists."""
    import importlib
    from importlib import resources

    import onebyone.explanation as package

    code = resources.files(package).joinpath("page_formulas.js").read_text(encoding="utf-8")
    functions = re.findall(r"^function (\w+)", code, flags=re.M)
    mirrored = re.findall(r"^// mirrors ([\w.]+).*\n(?://.*\n)*function (\w+)", code, flags=re.M)
    assert [js for _, js in mirrored] == functions and len(functions) >= 9
    for python, _ in mirrored:
        *module, name = python.split(".")
        owner = importlib.import_module(".".join(["onebyone.explanation", *module]))
        assert callable(getattr(owner, name)), python


@pytest.mark.parametrize("options, identity", [({}, True), ({"stride": 2}, False),
                                                ({"padding": 1}, False)])
def test_whole_image_sentence_holds_for_the_example(options, identity):
    # The page used to call every block "one weight times the identity" whatever the stride.
    e = onebyone.explain("6x6x4", filters=2, example=True, **options)
    html = to_html([e])
    assert ("multiple of the identity" in html) == identity
    assert "one weight times the identity" not in html


@pytest.mark.parametrize("shape, options", [("28x28x1", dict(filters=16)),
                                            ("64x64x3", dict(filters=32, kernel=3))])
def test_page_answers_the_questions_and_shows_the_code(shape, options):
    """The page answers what the text answers, first, and carries the same runnable code."""
    from html import unescape

    e = onebyone.explain(shape, **options)
    text = unescape(re.sub(r"<[^>]+>", "\n", to_html([e])))
    assert e.answers, "nothing to look for"
    for a in e.answers:
        assert a.question in text and a.answer in text, a.key
    assert text.index(e.answers[0].answer) < text.index("Weights")  # the answer before the tables
    assert e.pytorch_code.strip() in text
