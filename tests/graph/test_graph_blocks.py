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
    assert {r["role"] for r in found.rows} == {"attention"}
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
