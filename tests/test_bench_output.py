"""What `onebyone bench` prints and writes: no raw nan, labelled plots, tables that fit or stack,
and output paths checked before the (minutes of) work."""
import io
import math
import re

import pytest
from rich.console import Console

from onebyone import OneByOneError
from onebyone._table import print_table
from onebyone.bench import models, ops, report, run_models

NAN = float("nan")


def model_row(name, compile=True, seed=1.0):
    """A ModelRow as measure() returns it; without compile, its compile fields are NaN."""
    c = (lambda v: v) if compile else (lambda v: NAN)
    return models.ModelRow(name, 10 * seed, 8 * seed, 7.5 * seed, 7 * seed, 2.5, c(6 * seed), c(30.0),
                           4 * seed, 0.6, 3.9 * seed, 1.8, 3.8 * seed, "openvino",
                           40.0 if compile else 6.0, 3e-7, "1.0 -> 1.1")


def ops_row(shape, batch, vs_conv):
    return ops.Row(shape, batch, "channels_first", "fwd", "gemm", 1.0, 1.0 / vs_conv, 0.9 / vs_conv,
                   "gemm", 0.5, 10.0, vs_conv, 0.9, 0.5)


def test_no_compile_prints_and_writes_no_nan(tmp_path, monkeypatch):
    """`bench models --no-compile` printed raw nan in its table, its targets and its CSV."""
    monkeypatch.setattr(models, "measure", lambda name, compile, budget_s: model_row(name, compile))
    out = io.StringIO()
    run_models.main("onebyone bench models --no-compile", tmp_path, ("resnet18", "mobilenet_v2"),
                    compile=False, console=Console(file=out, width=80))
    printed = out.getvalue()
    written = {p.name: p.read_text() for p in tmp_path.glob("models.*") if p.suffix != ".png"}
    for name, text in [("console", printed)] + sorted(written.items()):
        assert not re.search(r"\bnan\b", text, re.I), name
    assert "skipped" in printed and "skipped" in written["models.md"]
    assert "torch.compile skipped (--no-compile)" in written["models.md"]
    assert max(map(len, printed.splitlines())) <= 80
    assert ",," in written["models.csv"]  # a variant that did not run is an empty CSV cell


def test_the_models_table_with_compile_keeps_every_number():
    rows = [model_row("resnet18"), model_row("shufflenet_v2_x0_5", seed=3.0)]
    for width in (60, 80, 120, 250):
        out = io.StringIO()
        print_table(Console(file=out, width=width), "t", models.HEADERS, [models.cells(r) for r in rows],
                    numbers=models.HEADERS[1:])
        text = out.getvalue()
        assert max(map(len, text.splitlines())) <= width
        for r in rows:
            for cell in models.cells(r):
                assert cell in text, (width, cell)


def test_models_plot_names_its_axes_and_skips_what_did_not_run():
    fig = models.figure([model_row("resnet18", compile=False), model_row("googlenet", compile=False)])
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("model")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["resnet18", "googlenet"]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "torch.compile" not in labels and "onebyone.optimize" in labels
    assert all(math.isfinite(p.get_height()) for p in ax.patches)
    assert len(ax.patches) == 2 * len(labels)  # one bar per model per variant that ran, none empty


def test_ops_plot_labels_each_bar_with_its_shape():
    rows = [ops_row("64x55x55->16", 1, 1.3), ops_row("16x55x55->64", 8, 0.9)]
    ax = report.figure(rows).axes[0]
    assert "shape" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["16x55x55->64 N=8", "64x55x55->16 N=1"]


@pytest.mark.parametrize("runner, files", [("models", ("models.csv",)), ("ops", ("ops.png",))])
def test_output_paths_are_checked_before_the_work(runner, files, tmp_path, monkeypatch):
    (tmp_path / files[0]).mkdir()  # a directory where the benchmark must write a file
    from onebyone.bench import run_ops, shapes

    monkeypatch.setattr(models, "measure", lambda *a, **k: pytest.fail("measured before checking --out"))
    monkeypatch.setattr(shapes, "suite", lambda *a, **k: pytest.fail("traced before checking --out"))
    with pytest.raises(OneByOneError, match=f"expected --out's {files[0]} to name a file, not a directory"):
        if runner == "models":
            run_models.main("cmd", tmp_path, ("resnet18",), console=Console(file=io.StringIO()))
        else:
            run_ops.main("cmd", tmp_path, ("squeezenet1_1",), console=Console(file=io.StringIO()))
