"""optimize on real torchvision models (random weights, random BatchNorm statistics, eval mode).

Tolerance: outputs must agree to rtol=1e-4, atol=1e-5 x max|output| (graph_toys.py), the float32
row of the table in onebyone/graph/verify.py; measured errors are ~1e-6 of max|output|. Inputs are small
(1x3x64x64) to keep the suite fast; every model here accepts them.
"""
import pytest
import torch
from graph_toys import (MODELS, assert_same_outputs, assert_unchanged, bns, convs, randomize_bn,
                        snapshot)

import onebyone
from onebyone.graph.zoo import build as torchvision_model
from onebyone.graph.settings import denormals_flushed


@pytest.fixture(scope="module", autouse=True)
def flushed():
    with denormals_flushed():  # random-weight nets produce denormals: 50x slower, same values
        yield


@pytest.fixture(scope="module", params=list(MODELS))
def optimized(request):
    name = request.param
    model = randomize_bn(torchvision_model(name))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    snap = snapshot(model)
    gm, report = onebyone.optimize(model, x, speed=False, n_random=1)
    return name, model, x, snap, gm, report


def test_outputs_equal_and_model_untouched(optimized):
    name, model, x, snap, gm, report = optimized
    assert_same_outputs(model, gm, x)
    assert all(p["kept"] for p in report["passes"]), report["passes"]
    assert report["error"] < 1e-5
    assert_unchanged(model, snap)


def test_structure(optimized):
    name, model, x, snap, gm, report = optimized
    assert bns(gm) == 0  # every BatchNorm in these models follows a conv
    assert convs(model) - convs(gm) == MODELS[name]
    assert report["after"]["params"] <= report["before"]["params"]
    swapped = sum(isinstance(m, onebyone.Conv1x1) for m in gm.modules())
    assert swapped == len(onebyone.inspect(gm, x).rows) > 0


def test_save_and_load(optimized, tmp_path):
    name, model, x, snap, gm, report = optimized
    torch.save(gm, tmp_path / f"{name}.pt")
    assert_same_outputs(model, torch.load(tmp_path / f"{name}.pt", weights_only=False), x)
