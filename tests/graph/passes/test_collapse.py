"""collapse: conv chains with nothing between become one conv; nonlinearity or sharing blocks it."""
import pytest
import torch
from graph_toys import Chain, SharedIntermediate, assert_same_outputs, convs, randomize_bn
from torch import nn

from onebyone.graph.passes.collapse import collapse
from onebyone.graph.passes.fold_bn import fold_bn
from onebyone.graph.trace import propagate, trace


def run(model, x, **kw):
    gm, rep = collapse(propagate(trace(model.eval()), (x,)), **kw)
    assert_same_outputs(model, gm, x)
    return gm, rep


@pytest.mark.parametrize("a, b", [
    (nn.Conv2d(6, 32, 1), nn.Conv2d(32, 5, 1)),                              # 1x1 -> 1x1
    (nn.Conv2d(6, 32, 1, stride=2, padding=1), nn.Conv2d(32, 5, 1, stride=2)),  # strides multiply
    (nn.Conv2d(6, 32, 3, padding=1, dilation=1), nn.Conv2d(32, 5, 1)),       # kxk -> 1x1
    (nn.Conv2d(6, 32, 3, stride=2, padding=2, dilation=2), nn.Conv2d(32, 5, 1, stride=2)),
    (nn.Conv2d(3, 32, 1), nn.Conv2d(32, 5, 3)),                              # 1x1 -> kxk, no padding
    (nn.Conv2d(3, 32, 1, bias=False), nn.Conv2d(32, 5, 3, padding=1)),       # padded, bias-free 1x1
])
def test_chain_collapses_exactly(a, b):
    model, x = Chain(a, b), torch.randn(2, a.in_channels, 11, 9)
    gm, rep = run(model, x)
    assert (convs(model), convs(gm), rep["changed"]) == (2, 1, 1)


def test_three_1x1_in_a_row_become_one():
    model = nn.Sequential(nn.Conv2d(4, 64, 1), nn.Conv2d(64, 48, 1), nn.Conv2d(48, 3, 1))
    gm, rep = run(model, torch.randn(1, 4, 5, 5))
    assert convs(gm) == 1 and rep["changed"] == 2


def test_bn_between_collapses_after_fold():
    model = randomize_bn(Chain(nn.Conv2d(6, 32, 1), nn.Conv2d(32, 5, 1), bn=True))
    x = torch.randn(1, 6, 7, 7)
    folded, _ = fold_bn(propagate(trace(model), (x,)))
    gm, rep = collapse(folded)
    assert convs(gm) == 1 and rep["changed"] == 1
    assert_same_outputs(model, gm, x)


def test_padded_kxk_after_biased_1x1_is_skipped():
    # zero padding of the 1x1's output is not zero padding of x once the 1x1 has a bias
    model = Chain(nn.Conv2d(3, 32, 1), nn.Conv2d(32, 5, 3, padding=1))
    gm, rep = run(model, torch.randn(1, 3, 6, 6))
    assert convs(gm) == 2 and rep["changed"] == 0
    assert any("zero-padded borders" in s for s in rep["skipped"])


def test_nonlinearity_between_blocks_collapse():
    model = Chain(nn.Conv2d(6, 32, 1), nn.Conv2d(32, 5, 1), act=nn.ReLU())
    gm, rep = run(model, torch.randn(1, 6, 4, 4))
    assert convs(gm) == 2 and rep["changed"] == 0 and rep["skipped"] == []


def test_shared_intermediate_blocks_collapse():
    model = SharedIntermediate().eval()
    gm, rep = run(model, torch.randn(1, 8, 4, 4), only_if_cheaper=False)
    assert convs(gm) == 2 and rep["changed"] == 0


def test_bottleneck_is_kept_unless_forced():
    model = Chain(nn.Conv2d(32, 4, 1), nn.Conv2d(4, 32, 1))  # 256 MACs/pixel vs 1024 as one conv
    x = torch.randn(1, 32, 4, 4)
    gm, rep = run(model, x)
    assert convs(gm) == 2 and "cost more" in rep["skipped"][0]
    forced, _ = run(model, x, only_if_cheaper=False)
    assert convs(forced) == 1


def test_grouped_conv_is_not_densified():
    model = Chain(nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.Conv2d(8, 4, 1))
    gm, rep = run(model, torch.randn(1, 8, 5, 5), only_if_cheaper=False)
    assert convs(gm) == 2 and "grouped" in rep["skipped"][0]
