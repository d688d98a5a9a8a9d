"""fold_bn: conv -> BatchNorm becomes one conv; structure and numbers, and when it must not."""
import torch
from graph_toys import Chain, SharedIntermediate, assert_same_outputs, bns, convs, randomize_bn
from torch import nn

from onebyone.graph.passes.fold_bn import fold_bn
from onebyone.graph.trace import trace
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


def test_shared_intermediate_is_not_folded():
    model = randomize_bn(SharedIntermediate())
    gm, rep = fold_bn(trace(model))
    assert rep["changed"] == 0 and bns(gm) == 1  # the add reads the conv's unfolded output
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
