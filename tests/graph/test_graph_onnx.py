"""ONNX: optimized models export (TorchScript-based exporter) and agree in onnxruntime; inspect
reads an .onnx file into the same rows as the PyTorch model.

torch 2.14's default (dynamo) exporter needs the onnxscript package, which is not installed
here; the TorchScript-based exporter (dynamo=False) still works offline, so that is used.
"""
import warnings

import numpy as np
import pytest
import torch
from graph_toys import ATOL_SCALE, MODELS, RTOL, randomize_bn

import onebyone
from onebyone.graph.load import torchvision_model
from onebyone.graph.speed import denormals_flushed

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module", autouse=True)
def flushed():
    with denormals_flushed():
        yield


def export(model, x, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["x"])
    return path


def run_onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x.numpy()})[0]


@pytest.mark.parametrize("name", list(MODELS))
def test_optimized_model_agrees_in_onnxruntime(name, tmp_path):
    model = randomize_bn(torchvision_model(name))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    gm, _ = onebyone.optimize(model, x, speed=False, n_random=1)
    got = run_onnx(export(gm, x, tmp_path / f"{name}.onnx"), x)
    with torch.no_grad():
        expected = model(x).numpy()
    scale = max(float(np.abs(expected).max()), 1.0)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL_SCALE * scale)


def key(row):
    return (row["cin"], row["cout"], row["groups"], tuple(row["stride"]), tuple(row["output"]),
            row["macs"], row["role"])


@pytest.mark.parametrize("name", ["resnet50", "googlenet", "mobilenet_v3_small", "squeezenet1_1"])
def test_onnx_inspect_lists_the_same_1x1_convs(name, tmp_path):
    model, x = torchvision_model(name), torch.randn(1, 3, 64, 64)
    path = export(model, x, tmp_path / f"{name}.onnx")
    ours, theirs = onebyone.inspect(model, x), onebyone.inspect(str(path), x)
    assert sorted(map(key, theirs.rows)) == sorted(map(key, ours.rows))
    assert theirs.totals["conv1x1_macs"] == ours.totals["conv1x1_macs"]
    parallel = {f["kind"] for f in theirs.findings} & {"parallel"}
    assert parallel == ({"parallel"} if name in ("resnet50", "googlenet") else set())
