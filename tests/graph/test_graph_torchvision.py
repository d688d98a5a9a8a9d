"""optimize on real torchvision models (random weights, random BatchNorm statistics, eval mode).

Tolerance: outputs must agree to RTOL=1e-4, ATOL=1e-5 (graph_toys.py), the float32 row of the
table in onebyone/graph/verify.py; measured errors are ~1e-6 relative. Inputs are small
(1x3x64x64) to keep the suite fast; every model here accepts them.
"""
import pytest
import torch
from graph_toys import assert_same_outputs, assert_unchanged, bns, convs, randomize_bn, snapshot

import onebyone
from onebyone.graph.load import torchvision_model
from onebyone.graph.speed import denormals_flushed

# name -> how many convs merge_parallel / collapse remove, measured and explained:
MODELS = {
    "resnet18": 0,
    "resnet50": 1,            # layer1.0: conv1 and the downsample 1x1 both read the stem's output
    "mobilenet_v2": 0,        # project -> expand chains are bottlenecks: collapsing costs more
    "mobilenet_v3_small": 1,  # features.1 projects 16->16, features.2 expands 16->72: one conv is cheaper
    "googlenet": 18,          # 9 Inception modules: three sibling 1x1 branches become one conv
    "squeezenet1_1": 0,       # Fire: 1x1 and 3x3 expand read the squeeze, but only one is 1x1
    "shufflenet_v2_x0_5": 0,  # depthwise 3x3 -> 1x1 chains: collapsing would densify
    "efficientnet_b0": 0,
}


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
