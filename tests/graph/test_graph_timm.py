"""inspect + optimize on timm's families (issue 10), BatchNorm statistics randomised.

No model fails; every BatchNorm that follows a conv with no other reader is folded; outputs agree
within the documented tolerance on fresh inputs and at another batch size; the user's model
(parameters, buffers, requires_grad flags) is exactly as before. One model built per family
(a module-scoped fixture), on small inputs; speed=False: timing is for `onebyone bench`.
"""
import json

import pytest
import torch
from graph_toys import randomize_bn
from torch import nn
from typer.testing import CliRunner

from onebyone.cli import app
from onebyone.graph import inspect, optimize, verify
from onebyone.graph.leaves import parts
from onebyone.graph.patterns import value_users
from onebyone.graph.trace import propagate, trace

timm = pytest.importorskip("timm")

# name -> (timm kwargs, input side): 32x32 where the model runs on it, 64x64 for mobilevit
# (its transformer blocks unfold 2x2 patches of a grid that must stay at least 2x2).
FAMILIES = {
    "efficientnet_b0": ({}, 32),
    "mobilenetv3_large_100": ({}, 32),
    "resnet50d": ({}, 32),
    "convnext_atto": ({"conv_mlp": True}, 32),
    "convnext_atto linear mlp": ({"conv_mlp": False}, 32),
    "mobilevit_xxs": ({}, 64),
    "densenet121": ({}, 32),
    "mixnet_s": ({}, 32),  # MixedConv2d: split, a conv per split, cat, BatchNorm (issue 16)
}
# Families whose every BatchNorm directly follows a conv or a cat of convs (no pre-activation
# norms): all fold.
EVERY_BN_AFTER_A_CONV = {"efficientnet_b0", "mobilenetv3_large_100", "resnet50d", "mixnet_s"}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # On this shared 2-core machine two OpenMP threads wait on each other while other processes
    # run: one thread ran these models ~10x faster. Restored after, as the user would expect.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def is_bn(gm, node):
    return node.op == "call_module" and isinstance(gm.get_submodule(node.target),
                                                   nn.modules.batchnorm._BatchNorm)


def conv_fed(gm, node, reader):
    """True if node is a conv, or a cat of convs, whose output only ``reader`` reads."""
    if node.op == "call_function" and node.target is torch.cat:
        return value_users(node) == [reader] and all(conv_fed(gm, p, node) for p in node.args[0])
    return (node.op == "call_module" and isinstance(gm.get_submodule(node.target), nn.modules.conv._ConvNd)
            and value_users(node) == [reader])


def norms(gm):
    """(BatchNorm calls, those right after a conv or a cat of convs whose output nothing else
    reads), counting the parts traced inside modules kept whole."""
    total = after_conv = 0
    for node in gm.graph.nodes:
        if is_bn(gm, node):
            total += 1
            after_conv += conv_fed(gm, node.args[0], node)
    for _, part in parts(gm):
        inner = norms(part)
        total, after_conv = total + inner[0], after_conv + inner[1]
    return total, after_conv


def state(model):
    return ({k: v.clone() for k, v in model.state_dict(keep_vars=True).items()},
            {k: p.requires_grad for k, p in model.named_parameters()}, repr(model))


@pytest.fixture(scope="module", params=list(FAMILIES))
def family(request):
    name = request.param
    kwargs, side = FAMILIES[name]
    model = randomize_bn(timm.create_model(name.split()[0], pretrained=False, **kwargs))
    shape = (1, 3, side, side)
    before = state(model)
    traced = propagate(trace(model), (torch.randn(shape),))
    result = inspect(model, shape)
    gm, report = optimize(model, shape, speed=False)
    return {"name": name, "model": model, "shape": shape, "before": before, "norms": norms(traced),
            "modules_bn": sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()),
            "result": result, "gm": gm, "report": report}


def test_no_model_fails(family):
    assert family["result"].rows, "no pointwise layer found"
    for step in family["report"]["passes"]:
        assert step["kept"] and "failure" not in step, step
    assert family["report"]["error"] <= family["report"]["tolerance"]


def test_every_bn_after_a_conv_with_no_other_reader_is_folded(family):
    total, foldable = family["norms"]
    fold = next(p for p in family["report"]["passes"] if p["pass"] == "fold_bn")
    assert fold["changed"] == foldable
    # inspect names the same ones (mixnet_s's cats of convs included)
    assert sum(f["kind"] == "foldable_bn" for f in family["result"].findings) == foldable
    assert foldable > 0 or family["modules_bn"] == 0  # ConvNeXt normalises with LayerNorm
    assert norms(family["gm"]) == (total - foldable, 0)
    if family["name"] in EVERY_BN_AFTER_A_CONV:
        assert foldable == family["modules_bn"]


@pytest.mark.parametrize("batch", [1, 3])
def test_outputs_agree_on_fresh_inputs(family, batch):
    gen = torch.Generator().manual_seed(100 + batch)
    x = torch.randn(batch, *family["shape"][1:], generator=gen)
    with torch.no_grad():
        found = verify.compare(family["model"](x), family["gm"](x))
    assert found["error"] <= verify.TOLERANCE[torch.float32], found


def test_users_model_is_unchanged(family):
    tensors, grads, structure = state(family["model"])
    old_tensors, old_grads, old_structure = family["before"]
    assert (grads, structure) == (old_grads, old_structure)
    assert tensors.keys() == old_tensors.keys()
    assert all(torch.equal(tensors[k], v) for k, v in old_tensors.items())


@pytest.mark.parametrize("family", ["convnext_atto linear mlp"], indirect=True)
def test_linear_pointwise_layers_are_counted(family):
    model, rows = family["model"], family["result"].rows
    mlp_linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and ".mlp." in n]
    assert sorted(r["module"] for r in rows if r["kind"] == "linear") == sorted(mlp_linears)
    assert family["result"].totals["macs_share"] > 0.5  # it used to say 0 1x1 convs, 0% of MACs


@pytest.mark.parametrize("family", ["mobilevit_xxs"], indirect=True)
def test_what_cannot_be_traced_is_kept_whole_and_looked_into(family):
    kept = family["result"].kept_whole
    assert [k["module"] for k in kept] == ["stages.2.1", "stages.3.1", "stages.4.1"]
    assert {k["reason"] for k in kept} == {"control flow on a tensor"}
    inside = {r["module"]: r["role"] for r in family["result"].rows if r["module"].startswith("stages.2.1.")}
    assert inside["stages.2.1.transformer.0.attn.qkv"] == "attention: qkv"  # split, then attention
    assert inside["stages.2.1.conv_1x1"] == "expand"  # alone in its part, but not the model's head


def test_cli_inspects_a_timm_model():
    out = CliRunner().invoke(app, ["inspect", "timm:mobilenetv3_small_050", "--input", "1,3,32,32",
                                   "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["model"] == "timm:mobilenetv3_small_050" and data["totals"]["conv1x1"] > 0
