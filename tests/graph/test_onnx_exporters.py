"""ONNX files as four exporters write them (exporter_styles.py) list the same pointwise rows as their
PyTorch twins: same order, kinds, channels, groups, strides, shapes, MACs and roles.

Issue 16's defect: an exporter that writes every weight as a Constant node (paddle2onnx) gave
"0 1x1 convs", and MatMul rows (a Linear on tokens) were never listed; both fail on the old
onnx_inspect. Each fixture is first checked to compute what its twin computes (onnxruntime
against torch), so a row match is a match with the same model.
"""
import json

import numpy as np
import pytest
import torch
from graph_toys import RTOL

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")  # torch's dynamo exporter writes through it

import onebyone  # noqa: E402
import exporter_styles as styles  # noqa: E402
from graph_toys import run  # noqa: E402
from onebyone.cli import main  # noqa: E402

SMALL, ODD = (1, 3, 64, 64), (2, 3, 96, 64)  # dynamic files are read at ODD: batch 2, not square


def nhwc(shape):
    n, c, h, w = shape
    return (n, h, w, c)


@pytest.fixture(scope="module")
def det():
    return styles.det()


@pytest.fixture(scope="module")
def files(det, tmp_path_factory):
    """style -> (ONNX model, the twin, the twin's input shape, the file's input shape)."""
    x, keras_twin = torch.randn(*SMALL), styles.KerasTwin()
    dynamic = styles.torch_export(det, x, dynamic=True)
    return {
        "torchscript": (styles.torch_export(det, x), det, SMALL, SMALL),
        "torchscript-dynamic": (dynamic, det, ODD, ODD),
        "dynamo": (styles.torch_export(det, x, dynamo=True), det, SMALL, SMALL),
        "paddle": (styles.paddle_style(styles.torch_export(det, x, dynamic=True, keep_bn=True)), det, ODD, ODD),
        "keras": (styles.keras_style(keras_twin), keras_twin, ODD, nhwc(ODD)),
    }


STYLES = ["torchscript", "torchscript-dynamic", "dynamo", "paddle", "keras"]


@pytest.fixture(scope="module")
def twin_of(files):
    """style -> the PyTorch twin's inspect at the style's shape (each twin and shape once)."""
    done = {}

    def inspect(style):
        _, twin, shape, _ = files[style]
        if (id(twin), shape) not in done:
            done[id(twin), shape] = onebyone.inspect(twin, shape)
        return done[id(twin), shape]
    return inspect


def key(row):
    return (row["kind"], row["cin"], row["cout"], row["groups"], row["stride"], row["kernel"],
            row["input"], row["output"], row["macs"], row["role"])


@pytest.mark.parametrize("style", STYLES)
def test_each_file_computes_what_its_twin_computes(files, style):
    model, twin, shape, file_shape = files[style]
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(3))
    feed = x.permute(0, 2, 3, 1) if style == "keras" else x
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: feed.numpy()})[0]
    with torch.no_grad():
        expected = twin(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-5 * max(np.abs(expected).max(), 1.0))


@pytest.mark.parametrize("style", STYLES)
def test_each_file_lists_its_twins_rows(files, twin_of, style):
    model, twin, shape, file_shape = files[style]
    ours, theirs = twin_of(style), onebyone.inspect(model, file_shape)
    assert [key(r) for r in theirs.rows] == [key(r) for r in ours.rows]
    if style != "keras":  # torch's exporters keep the module paths (in weights' names or scopes)
        assert [r["module"] for r in theirs.rows] == [r["module"] for r in ours.rows]
    assert {r["kind"] for r in theirs.rows} == {"conv", "linear"}
    for total in ("conv1x1", "conv1x1_macs", "model_macs"):
        assert theirs.totals[total] == ours.totals[total], total
    assert theirs.input == [list(file_shape)]


def what(found, names=True):
    return sorted((f["kind"], tuple(f["modules"]) if names else len(f["modules"])) for f in found)


@pytest.mark.parametrize("style", STYLES)
def test_each_file_has_its_twins_findings(files, twin_of, style):
    """Torch's exporters fold eval BatchNorm into the conv, so foldable_bn is found only where
    BatchNormalization nodes are kept (paddle2onnx keeps them); the rest is the same."""
    model, twin, shape, file_shape = files[style]
    ours, theirs = twin_of(style).findings, onebyone.inspect(model, file_shape).findings
    if style != "paddle":
        ours = [f for f in ours if f["kind"] != "foldable_bn"]
    assert what(theirs, style != "keras") == what(ours, style != "keras")
    assert {f["kind"] for f in theirs} >= ({"foldable_bn", "parallel", "linear_chain"} if style == "paddle"
                                           else set())


def test_the_attention_and_fpn_roles_are_read_through_the_exporters(files):
    """The rules reach these only by looking through exporter-added nodes (the bias Add of a
    MatMul, Transposes, Reshapes): a qkv Linear, SE gates, FPN laterals on shortcuts."""
    roles = {r["role"] for r in onebyone.inspect(files["paddle"][0], ODD).rows}
    assert {"attention: qkv", "attention", "projection", "head"} <= roles


@pytest.fixture(scope="module")
def saved(files, tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx")
    for style, (model, *_) in files.items():
        onnx.save(model, d / f"{style}.onnx")
    return d


@pytest.mark.parametrize("style", ["paddle", "keras", "torchscript"])
def test_the_cli_reads_each_file(files, twin_of, saved, style):
    model, twin, shape, file_shape = files[style]
    out = json.loads(run("inspect", str(saved / f"{style}.onnx"), "--json",
                         "--input", ",".join(map(str, file_shape))))
    assert [key(r) for r in out["rows"]] == [key(r) for r in twin_of(style).rows]


def test_a_fixed_file_needs_no_input(saved):
    out = json.loads(run("inspect", str(saved / "torchscript.onnx"), "--json"))
    assert out["input"] == [list(SMALL)] and out["totals"]["conv1x1"] > 0


@pytest.mark.parametrize("style, args, message", [
    ("paddle", [], "expected an input shape (--input) for the symbolic dims of ONNX input 'x' "
                   "(p2o.DynamicDimension.0x3xp2o.DynamicDimension.1xp2o.DynamicDimension.2); got none"),
    ("keras", ["--input", "1,32,32"], "expected an input shape of rank 4 for ONNX input 'input_1' "
                                      "(unk__0xunk__1xunk__2x3); got 1x32x32"),
    ("keras", ["--input", "1,3,32,32"], "expected an input shape that agrees with ONNX input "
                                        "'input_1''s fixed dims (unk__0xunk__1xunk__2x3); got 1x3x32x32"),
])
def test_bad_input_is_one_line_exit_2(saved, capsys, style, args, message):
    with pytest.raises(SystemExit) as e:
        main(["inspect", str(saved / f"{style}.onnx"), *args])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and message in err
