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
