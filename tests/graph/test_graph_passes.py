"""merge_parallel, swap, memory_format, low_rank on toy models: structure, then numbers."""
import torch
from graph_toys import Siblings, assert_same_outputs, convs
from torch import nn

from onebyone.graph.passes.low_rank import low_rank
from onebyone.graph.passes.memory_format import memory_format
from onebyone.graph.passes.merge_parallel import merge_parallel
from onebyone.graph.passes.swap import swap
from onebyone.graph.trace import propagate, trace
from onebyone.nn import Conv1x1


def test_siblings_merge_into_one_conv_strided_one_stays():
    model, x = Siblings().eval(), torch.randn(2, 8, 7, 5)
    gm, rep = merge_parallel(trace(model))
    # p, q (no bias) and r merge; s has a stride and k is 3x3, so both stay
    assert (convs(model), convs(gm), rep["changed"]) == (5, 3, 1)
    merged = gm.get_submodule(rep["modules"][0])
    assert (merged.in_channels, merged.out_channels) == (8, 4 + 6 + 5)
    assert_same_outputs(model, gm, x)


class QKV(nn.Module):
    """SAGAN's query / key / value: three 1x1 convs of one feature map, then attention."""

    def __init__(self, c=16):
        super().__init__()
        self.q, self.k, self.v = Conv1x1(c, c // 8), Conv1x1(c, c // 8), Conv1x1(c, c)

    def forward(self, x):
        n, c, h, w = x.shape
        q, k, v = self.q(x).flatten(2), self.k(x).flatten(2), self.v(x).flatten(2)
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (N, HW, HW)
        return (v @ attn.transpose(1, 2)).view(n, c, h, w) + x


def test_attention_qkv_merge_and_stay_conv1x1():
    model, x = QKV().eval(), torch.randn(2, 16, 4, 3)
    gm, rep = merge_parallel(trace(model))
    assert convs(gm) == 1 and isinstance(gm.get_submodule(rep["modules"][0]), Conv1x1)
    assert_same_outputs(model, gm, x)


def test_nonlinearity_before_one_sibling_blocks_its_merge():
    class Gated(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(8, 4, 1), nn.Conv2d(8, 4, 1)

        def forward(self, x):
            return self.a(x) + self.b(torch.relu(x))  # b reads relu(x), not x

    gm, rep = merge_parallel(trace(Gated().eval()))
    assert rep["changed"] == 0 and convs(gm) == 2


def test_swap_changes_1x1_only():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 4, 1, stride=2))
    x = torch.randn(1, 3, 9, 9)
    gm, rep = swap(trace(model))
    assert [type(m).__name__ for m in gm.children()] == ["Conv2d", "Conv1x1"] and rep["changed"] == 1
    assert_same_outputs(model, gm, x)
    model1d = nn.Sequential(nn.Conv1d(4, 6, 1))
    gm1d, _ = swap(trace(model1d))
    assert isinstance(gm1d.get_submodule("0"), Conv1x1)
    assert_same_outputs(model1d, gm1d, torch.randn(2, 4, 11))


def test_memory_format_rule():
    model, x = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 1)), torch.randn(1, 3, 9, 9)
    gm, rep = memory_format(propagate(trace(model), (x,)))
    assert rep["changed"] == 1
    assert gm.get_submodule("0").weight.is_contiguous(memory_format=torch.channels_last)
    assert gm(x).is_contiguous(memory_format=torch.channels_last)
    assert_same_outputs(model, gm, x)
    flat = nn.Sequential(nn.Conv1d(3, 4, 1))  # no 2-D conv: left contiguous
    gm, rep = memory_format(propagate(trace(flat), (torch.randn(1, 3, 5),)))
    assert rep["changed"] == 0


def test_low_rank_by_rank_and_by_energy():
    conv = nn.Conv2d(24, 20, 1)
    with torch.no_grad():
        conv.weight.copy_((torch.randn(20, 3) @ torch.randn(3, 24)).reshape(20, 24, 1, 1))
    model, x = nn.Sequential(conv), torch.randn(1, 24, 5, 5)
    gm, rep = low_rank(trace(model))  # energy 0.999 finds rank 3 exactly
    assert convs(gm) == 2 and "at rank 3" in rep["details"][0]
    assert sum(p.numel() for p in gm.parameters()) == 3 * (24 + 20) + 20
    assert_same_outputs(model, gm, x)
    gm2, rep2 = low_rank(trace(model), rank=2)  # lossy: error reported
    error = float(rep2["details"][0].rsplit(" ", 1)[1])
    assert 0 < error < 1
    assert low_rank(trace(model), rank=12)[1]["changed"] == 0  # 12 * 44 > 24 * 20: no saving
