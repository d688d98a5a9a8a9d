"""fold_bn: conv -> BatchNorm becomes one conv; structure and numbers, and when it must not."""
import pytest
import torch
from graph_toys import Chain, SharedIntermediate, assert_same_outputs, bns, convs, count, randomize_bn
from torch import nn

from onebyone.graph import inspect
from onebyone.graph.passes.fold_bn import fold_bn
from onebyone.graph.trace import propagate, trace
from onebyone.nn import Conv1x1


def test_conv_bn_folds_into_one_conv():
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                       nn.Conv2d(8, 4, 1, bias=False), nn.BatchNorm2d(4)))
    gm, rep = fold_bn(trace(model))
    assert (bns(model), bns(gm), convs(gm)) == (2, 0, 2)
    assert rep["changed"] == 2
    assert_same_outputs(model, gm, torch.randn(2, 3, 9, 7))


def test_conv1x1_and_3d_bn_fold():
    model = randomize_bn(nn.Sequential(Conv1x1(4, 6, dims=3), nn.BatchNorm3d(6)))
    gm, _ = fold_bn(trace(model))
    assert bns(gm) == 0 and isinstance(gm.get_submodule("0"), Conv1x1)
    assert_same_outputs(model, gm, torch.randn(1, 4, 3, 5, 2))


def test_shared_intermediate_is_not_folded_into_the_conv_before():
    model = randomize_bn(SharedIntermediate())
    gm, rep = fold_bn(trace(model))
    # the add reads a's unfolded output, so the BatchNorm folds forward into b's input instead
    assert rep["details"] == ["bn folded into b (its input channels)"] and bns(gm) == 0
    assert torch.equal(gm.a.weight, model.a.weight)
    assert_same_outputs(model, gm, torch.randn(1, 8, 5, 5))


def test_training_mode_bn_is_not_folded():
    model = Chain(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 1), bn=True).train()
    gm, rep = fold_bn(trace(model))
    assert rep["changed"] == 0 and bns(gm) == 1


# Every way a BatchNorm reaches a graph (issue 10): the old fold_bn saw only nn.BatchNorm modules,
# so timm's BatchNormAct2d (traced into F.batch_norm, behind a shape assert) folded nothing.
F = nn.functional


class NormAct(nn.BatchNorm2d):
    """Like timm's BatchNormAct2d: a BatchNorm subclass calling F.batch_norm, then its act."""

    def __init__(self, n):
        super().__init__(n)
        self.act = nn.SiLU()

    def forward(self, x):
        torch._assert(x.ndim == 4, "expected 4D input")  # a reader of the shape only
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                         False, 0.1, self.eps)
        return self.act(x)


class FunctionalBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 1, bias=False)
        self.bn = nn.BatchNorm2d(6)

    def forward(self, x):
        b = self.bn
        return F.batch_norm(self.conv(x), b.running_mean, b.running_var, b.weight, b.bias, eps=b.eps)


def _batch_norm_calls(gm):
    """BatchNorm modules the graph calls plus batch_norm functions it calls: all its norms."""
    return sum((n.op == "call_module" and isinstance(gm.get_submodule(n.target),
                                                      nn.modules.batchnorm._BatchNorm))
               or (n.op == "call_function" and "batch_norm" in str(n.target))
               for n in gm.graph.nodes)


def test_batchnorm_subclass_with_activation_folds_and_keeps_the_activation():
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 8, 3), NormAct(8), nn.Conv2d(8, 4, 1), NormAct(4)))
    traced = trace(model)
    gm, rep = fold_bn(traced)
    assert (_batch_norm_calls(traced), _batch_norm_calls(gm), rep["changed"]) == (2, 0, 2)
    assert sum(isinstance(m, nn.SiLU) for m in gm.modules()) == 2
    assert_same_outputs(model, gm, torch.randn(2, 3, 9, 7))


def test_timm_batchnorm_act_folds():
    timm_norm = __import__("pytest").importorskip("timm.layers").BatchNormAct2d
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 8, 1), timm_norm(8, act_layer=nn.ReLU)))
    gm, rep = fold_bn(trace(model))
    assert rep["changed"] == 1 and _batch_norm_calls(gm) == 0
    assert_same_outputs(model, gm, torch.randn(2, 3, 5, 5))


def test_functional_batch_norm_folds():
    model = randomize_bn(FunctionalBN())
    gm, rep = fold_bn(trace(model))
    assert rep["changed"] == 1 and _batch_norm_calls(gm) == 0 and convs(gm) == 1
    assert_same_outputs(model, gm, torch.randn(2, 3, 5, 5))


def test_batch_norm_of_a_decomposed_pt2_folds():
    # run_decompositions turns batch_norm into _native_batch_norm_legit_no_training (a tuple)
    # and conv2d into aten.convolution
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8), nn.ReLU()))
    x = torch.randn(1, 3, 6, 6)
    program = torch.export.export(model, (x,)).run_decompositions().module()
    gm, rep = fold_bn(trace(program))
    assert rep["changed"] == 1 and _batch_norm_calls(gm) == 0 and convs(gm) == 1
    assert_same_outputs(model, gm, x)


def test_batch_norm_in_training_is_left_alone():
    class BatchStats(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)

        def forward(self, x):
            return F.batch_norm(self.conv(x), None, None, training=True)

    gm, rep = fold_bn(trace(BatchStats().eval()))
    assert rep["changed"] == 0 and _batch_norm_calls(gm) == 1


class RenamedBN(nn.BatchNorm2d):
    """A subclass keeping torch's forward: a BatchNorm by another name."""


class UntraceableNormAct(nn.BatchNorm2d):
    """A subclass with its own forward that torch.fx cannot trace: kept whole, never folded as
    if it were only a BatchNorm (its activation would be lost)."""

    def forward(self, x):
        y = super().forward(x)
        return torch.relu(y) if y.mean() < 100 else y


def test_batchnorm_subclass_with_torchs_forward_folds_and_is_not_kept_whole():
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 8, 1), RenamedBN(8)))
    gm, rep = fold_bn(trace(model))
    assert rep["changed"] == 1 and bns(gm) == 0 and gm.meta["kept_whole"] == {}
    assert_same_outputs(model, gm, torch.randn(2, 3, 5, 5))


def test_untraceable_batchnorm_subclass_is_not_folded():
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 8, 1), UntraceableNormAct(8)))
    gm, rep = fold_bn(trace(model))
    assert rep["changed"] == 0 and list(gm.meta["kept_whole"]) == ["1"]
    assert_same_outputs(model, gm, torch.randn(2, 3, 5, 5))


class StandardisedConv(nn.Conv2d):
    """A conv subclass with its own forward (weight standardisation, as timm's StdConv2d):
    folding BatchNorm's scale into its weight would be undone by the standardisation."""

    def forward(self, x):
        w = self.weight
        w = (w - w.mean((1, 2, 3), keepdim=True)) / (w.std((1, 2, 3), keepdim=True) + 1e-5)
        if x.shape[-1] % 2:  # a check on the input torch.fx cannot trace: kept whole, a conv
            x = x * 1.0
        return F.conv2d(x, w, self.bias, self.stride, self.padding)


def test_conv_subclass_with_its_own_forward_is_not_folded_into():
    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8),
                                       StandardisedConv(8, 8, 1), nn.BatchNorm2d(8)))
    gm, rep = fold_bn(trace(model))
    assert list(gm.meta["kept_whole"]) == ["2"]
    assert rep["changed"] == 1 and bns(gm) == 1  # the first pair only
    assert_same_outputs(model, gm, torch.randn(2, 3, 5, 5))


# Issue 16: BatchNorms that are an exact fold but sat beside no single conv. timm's mixnet_s
# kept 34 of its 49 (its MixedConv2d: split, one conv per split, cat, BatchNorm).
class MixedConv(nn.Module):
    """Channels split in three, one conv each (kernels 3, 5 and a 1x1 without bias, one of them
    depthwise), concatenated, then BatchNorm: each slice of it belongs to one conv."""

    def __init__(self, cat_input=False):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(2, 2, 3, padding=1, groups=2), nn.Conv2d(3, 4, 5, padding=2),
                                    nn.Conv2d(3, 3, 1, bias=False)])
        self.bn = nn.BatchNorm2d(9 + 8 * cat_input)
        self.cat_input = cat_input  # the input itself joins the cat: not a conv's output

    def forward(self, x):
        chunks = torch.split(x, [2, 3, 3], dim=1)  # a Proxy when traced: indexed, not iterated
        parts = [conv(chunks[i]) for i, conv in enumerate(self.convs)]
        return self.bn(torch.cat(parts + [x] * self.cat_input, dim=1))


def test_batchnorm_after_a_cat_of_convs_folds_a_slice_into_each_conv():
    model = randomize_bn(MixedConv())
    gm, rep = fold_bn(trace(model))
    assert (bns(model), bns(gm), convs(gm), rep["changed"]) == (1, 0, 3, 1)
    assert gm.get_submodule("convs.2").bias is not None  # the slice's shift needs one
    assert_same_outputs(model, gm, torch.randn(2, 8, 7, 6))


def test_inspect_finds_the_batchnorm_after_a_cat_of_convs():
    found = [f for f in inspect(randomize_bn(MixedConv()), (1, 8, 5, 5)).findings if f["kind"] == "foldable_bn"]
    assert [f["modules"] for f in found] == [["convs.0", "convs.1", "convs.2", "bn"]]
    assert not [f for f in inspect(randomize_bn(MixedConv(cat_input=True)), (1, 8, 5, 5)).findings
                if f["kind"] == "foldable_bn"]


def test_timm_mixed_conv_folds():
    mixed = __import__("pytest").importorskip("timm.layers").MixedConv2d
    model = randomize_bn(nn.Sequential(mixed(12, 12, [3, 5, 7], depthwise=True), nn.BatchNorm2d(12)))
    gm, rep = fold_bn(trace(model))
    assert (bns(gm), rep["changed"]) == (0, 1)
    assert_same_outputs(model, gm, torch.randn(1, 12, 9, 9))


class SharedCatInput(MixedConv):
    """One conv's output is also added to the result: folding would change what the add reads."""

    def forward(self, x):
        chunks = torch.split(x, [2, 3, 3], dim=1)
        parts = [conv(chunks[i]) for i, conv in enumerate(self.convs)]
        return self.bn(torch.cat(parts, dim=1))[:, :2] + parts[0]


class TwiceCalledConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(4, 4, 1), nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(torch.cat([self.conv(x), self.conv(-x)], 1))


def _frozen_first_conv():
    model = MixedConv()
    model.convs[0].requires_grad_(False)
    return model


@pytest.mark.parametrize("make,x,why", [
    (lambda: MixedConv(cat_input=True), (1, 8, 5, 5), "cat input x is not a conv whose output only the cat reads"),
    (SharedCatInput, (1, 8, 5, 5), "cat input convs_0 is not a conv whose output only the cat reads"),
    (TwiceCalledConv, (1, 4, 5, 5), "module called more than once"),
    (_frozen_first_conv, (1, 8, 5, 5), "parameters differ in requires_grad"),
])
def test_cat_that_is_not_only_convs_read_once_is_skipped_and_says_why(make, x, why):
    model = randomize_bn(make())
    gm, rep = fold_bn(trace(model))
    assert rep["changed"] == 0 and bns(gm) == 1 and rep["skipped"] == [f"cat -> bn: {why}"]
    assert_same_outputs(model, gm, torch.randn(*x))


class LinearBN(nn.Module):
    """Linear -> BatchNorm1d on (N, C), or on tokens (N, L, C) -> (N, C, L) -> BatchNorm1d."""

    def __init__(self, tokens=False, transpose="transpose"):
        super().__init__()
        self.fc, self.bn = nn.Linear(6, 5), nn.BatchNorm1d(5)
        self.tokens, self.transpose = tokens, transpose

    def forward(self, x):
        y = self.fc(x)
        if not self.tokens:
            return self.bn(y)
        y = y.transpose(1, 2) if self.transpose == "transpose" else y.permute(0, 2, 1)
        return self.bn(y).transpose(-1, -2)


@pytest.mark.parametrize("model,x", [
    (LinearBN(), (3, 6)),
    (LinearBN(tokens=True), (2, 7, 6)),
    (LinearBN(tokens=True, transpose="permute"), (2, 7, 6)),
])
def test_batchnorm_after_a_linear_folds(model, x):
    model = randomize_bn(model)
    gm, rep = fold_bn(propagate(trace(model), (torch.randn(*x),)))
    assert (bns(gm), count(gm, nn.Linear), rep["changed"]) == (0, 1, 1)
    assert_same_outputs(model, gm, torch.randn(*x))


def test_batchnorm_over_a_linears_token_axis_is_skipped():
    model = randomize_bn(nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(4)))  # (N, L=4, C=6)
    gm, rep = fold_bn(propagate(trace(model), (torch.randn(2, 4, 6),)))
    assert rep["changed"] == 0 and bns(gm) == 1
    assert rep["skipped"] == ["0 -> 1: its output has rank 3: the BatchNorm normalises axis 1, "
                              "not the Linear's features"]


def _zero_shift(bn):
    """A BatchNorm whose shift beta - mean * s is exactly zero on every channel."""
    with torch.no_grad():
        bn.running_mean.zero_()
        bn.bias.zero_()
    return bn


@pytest.mark.parametrize("conv", [
    nn.Conv2d(6, 4, 3, stride=2),                                  # no padding
    nn.Conv2d(6, 4, 3, padding=1, groups=2, bias=False),           # groups, zero padding: below
    nn.Conv2d(6, 6, 3, padding=2, dilation=2, padding_mode="reflect"),  # copies: exact
    nn.Conv2d(6, 6, 3, padding=1, padding_mode="circular", groups=6),
    Conv1x1(6, 4),
])
def test_batchnorm_before_a_conv_folds_into_its_input_channels(conv):
    bn = nn.BatchNorm2d(6)
    model = randomize_bn(nn.Sequential(bn, conv))
    if conv.padding_mode == "zeros" and conv.padding != (0, 0):
        _zero_shift(bn)  # else skipped: next test
    gm, rep = fold_bn(trace(model))
    assert (bns(gm), convs(gm), rep["details"]) == (0, 1, ["0 folded into 1 (its input channels)"])
    assert_same_outputs(model, gm, torch.randn(2, 6, 9, 8))


def test_batchnorm_before_a_zero_padded_conv_with_a_shift_is_skipped():
    model = randomize_bn(nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 4, 3, padding=1)))
    gm, rep = fold_bn(trace(model))
    assert rep["changed"] == 0 and bns(gm) == 1
    assert rep["skipped"] == ["0 -> 1: the BatchNorm's shift is not zero and 1 pads with zeros: "
                              "the border it reads as 0 would read as the shift"]


def test_batchnorm_before_a_conv_with_an_activation_between_is_left():
    model = randomize_bn(nn.Sequential(nn.BatchNorm2d(3), nn.ReLU(), nn.Conv2d(3, 4, 1)))
    gm, rep = fold_bn(trace(model))
    assert rep["changed"] == 0 and bns(gm) == 1 and rep["skipped"] == []
