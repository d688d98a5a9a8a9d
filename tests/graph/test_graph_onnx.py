"""ONNX: optimized models export with both of torch's exporters and agree in onnxruntime;
inspect reads an .onnx file into the same rows as the PyTorch model.

torch 2.14's default exporter (dynamo=True, through torch.export) needs the onnxscript package
(in the `onnx` extra); the TorchScript-based one (dynamo=False) is deprecated but still works.
"""
import warnings

import numpy as np
import pytest
import torch
from graph_toys import ATOL_SCALE, MODELS, RTOL, randomize_bn

import onebyone
from onebyone.graph.zoo import build as torchvision_model
from onebyone.graph.settings import denormals_flushed

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module", autouse=True)
def flushed():
    with denormals_flushed():
        yield


def export(model, x, path, dynamo=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(model, (x,), str(path), dynamo=dynamo, input_names=["x"], verbose=False)
    return path


def run_onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x.numpy()})[0]


@pytest.fixture(scope="module", params=list(MODELS))
def optimized(request):
    model = randomize_bn(torchvision_model(request.param))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    gm, _ = onebyone.optimize(model, x, speed=False, n_random=1)
    return request.param, model, gm, x


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_optimized_model_agrees_in_onnxruntime(optimized, dynamo, tmp_path):
    name, model, gm, x = optimized
    if dynamo:
        pytest.importorskip("onnxscript")
    got = run_onnx(export(gm, x, tmp_path / f"{name}.onnx", dynamo), x)
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
