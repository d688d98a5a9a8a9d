"""merge_parallel, swap, memory_format, low_rank on toy models: structure, then numbers."""
import pytest
import torch
from graph_toys import Siblings, assert_same_outputs, convs
from torch import nn

from onebyone.graph.findings import findings
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


class WritesShared(nn.Module):
    """Two sibling 1x1 convs and an in-place write to their shared input between them."""

    def __init__(self, write):
        super().__init__()
        self.a, self.b, self.write = nn.Conv2d(4, 3, 1), nn.Conv2d(4, 5, 1), write
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        x = x * 1  # not the caller's tensor
        a = self.a(x)
        self.write(self, x)
        return torch.cat([a, self.b(x)], 1)


WRITES = {
    "relu_()": lambda m, x: x.relu_(),
    "add_()": lambda m, x: x.add_(1.0),
    "torch.relu_": lambda m, x: torch.relu_(x),
    "F.relu(inplace=True)": lambda m, x: nn.functional.relu(x, inplace=True),
    "F.relu(x, True)": lambda m, x: nn.functional.relu(x, True),
    "nn.ReLU(inplace=True)": lambda m, x: m.relu(x),
    "a view's mul_()": lambda m, x: x.flatten(1).mul_(2.0),
    "setitem": lambda m, x: x.__setitem__((slice(None), 0), 0.0),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_no_merge_when_the_shared_input_is_written_in_place(write):
    model, x = WritesShared(write).eval(), torch.randn(1, 4, 5, 5)
    traced = propagate(trace(model), (x,))
    assert [f for f in findings(traced) if f["kind"] == "parallel"] == []
    gm, rep = merge_parallel(traced)
    assert rep["changed"] == 0 and convs(gm) == 2
    assert_same_outputs(model, gm, x)


class WritesFirst(nn.Module):
    """An in-place ReLU makes the input both siblings read (as in torchvision's Inception)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(4, 3, 1), nn.Conv2d(4, 5, 1)

    def forward(self, x):
        x = torch.relu_(x * 1)
        return torch.cat([self.a(x), self.b(x)], 1)


def test_a_write_before_both_siblings_does_not_block_the_merge():
    model, x = WritesFirst().eval(), torch.randn(1, 4, 5, 5)
    traced = propagate(trace(model), (x,))
    assert [f["modules"] for f in findings(traced) if f["kind"] == "parallel"] == [["a", "b"]]
    gm, rep = merge_parallel(traced)
    assert rep["changed"] == 1 and convs(gm) == 1
    assert_same_outputs(model, gm, x)


class PlusEquals(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(4, 3, 1), nn.Conv2d(4, 5, 1)

    def forward(self, x):
        x = x * 1
        a = self.a(x)
        x += 1  # torch.fx records a new node x + 1: the second conv reads another node
        return torch.cat([a, self.b(x)], 1)


def test_x_plus_equals_on_the_shared_input_keeps_outputs():
    model, x = PlusEquals().eval(), torch.randn(1, 4, 5, 5)
    gm, rep = merge_parallel(propagate(trace(model), (x,)))
    assert rep["changed"] == 0
    assert_same_outputs(model, gm, x)
