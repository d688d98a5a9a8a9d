"""inspect and optimize on onebyone's own blocks (built from Conv1x1): roles, merges, numbers."""
import torch
from graph_toys import assert_same_outputs, convs, randomize_bn

import onebyone
from onebyone import blocks


def test_self_attention_qkv_merge_into_one_conv():
    block = blocks.SelfAttention2d(32).eval()
    with torch.no_grad():
        block.gamma.fill_(0.5)  # gamma starts at 0, which would hide the attention path
    x = torch.randn(2, 32, 6, 5)
    found = onebyone.inspect(block, x)
    assert [r["role"] for r in found.rows] == ["attention: key", "attention: query", "attention: value"]
    assert [f["kind"] for f in found.findings] == ["parallel"]
    gm, report = onebyone.optimize(block, x, speed=False)
    assert (convs(block), convs(gm)) == (3, 1)
    assert_same_outputs(block, gm, x)


def test_inception_branches_fold_and_merge():
    block = randomize_bn(blocks.Inception(32, 8, 8, 16, 4, 8, 8))
    x = torch.randn(1, 32, 9, 9)
    gm, report = onebyone.optimize(block, x, speed=False)
    assert convs(block) - convs(gm) == 2  # three 1x1 branches reading x become one conv
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in gm.modules())
    assert_same_outputs(block, gm, x)


def test_a_block_and_torchvision_give_the_same_branch_the_same_role():
    # explain --block inception once said mix / project where inspect googlenet said reduce.
    from torchvision.models.googlenet import Inception as TvInception

    from onebyone.blocks import describe

    theirs = onebyone.inspect(TvInception(192, 64, 96, 128, 16, 32, 32).eval(), (1, 192, 28, 28))
    ours = describe("inception", 28, 28, 192)
    assert [(r["module"], r["role"]) for r in theirs.rows] == [(r.path, r.role) for r in ours]
    assert [r.role for r in ours] == ["reduce"] * 4


def test_squeeze_excitation_is_attention_in_both():
    from torchvision.ops import SqueezeExcitation as TvSE

    from onebyone.blocks import describe

    theirs = onebyone.inspect(TvSE(64, 4), (1, 64, 7, 7))
    assert [r["role"] for r in theirs.rows] == [r.role for r in describe("squeeze_excitation", 7, 7, 64)]


def test_inspect_reads_roles_a_module_declares_without_knowing_its_class():
    class Declares(torch.nn.Module):
        conv1x1_roles = {"a": "attention: query"}  # a dict attribute; blocks use a method

        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Conv2d(8, 4, 1), torch.nn.Conv2d(4, 4, 1)

        def forward(self, x):
            return self.b(torch.relu(self.a(x)))

    rows = onebyone.inspect(torch.nn.Sequential(Declares()), (1, 8, 5, 5)).rows
    assert [(r["module"], r["role"], r["kind"]) for r in rows] == [
        ("0.a", "attention: query", "conv"), ("0.b", "head", "conv")]
    detection = onebyone.inspect(blocks.DetectionHead(16).eval(), (1, 16, 6, 6)).rows
    assert [r["role"] for r in detection] == ["head: scores", "head: boxes"]
