"""describe(): the 1x1 convs of a block, measured with hooks, as rows of plain data."""
import dataclasses
from copy import deepcopy as copy_module

import pytest
import torch

from onebyone import OneByOneError
from onebyone.blocks import (BLOCKS, ROLES, Bottleneck, ConvRow, DepthwiseSeparable,
                             InvertedResidual, build, describe, describe_module)
from onebyone.graph.roles import declared_roles
from onebyone.nn import Conv1x1


def test_inception_3a_rows():
    rows = describe("inception", 28, 28, 192)  # the default widths are inception (3a)'s
    assert [(r.path, r.role, r.in_channels, r.out_channels) for r in rows] == [
        ("branch1.conv", "reduce", 192, 64),
        ("branch2.0.conv", "reduce", 192, 96),
        ("branch3.0.conv", "reduce", 192, 16),
        ("branch4.1.conv", "reduce", 192, 32),
    ]
    for r in rows:
        assert r.kernel_size == (1, 1) and r.groups == 1 and r.stride == (1, 1)
        assert r.output_size == (28, 28)
        assert r.macs == 28 * 28 * r.in_channels * r.out_channels  # one dot product per output
        assert r.params == r.in_channels * r.out_channels  # BatchNorm follows: no conv bias


def test_rows_follow_the_input_size_and_stride():
    # A strided 1x1 conv (the paper's ResNet) reads every other pixel: output 4x3 from 7x5.
    rows = describe_module(Bottleneck(16, 8, stride=2, stride_in_1x1=True), (1, 16, 7, 5))
    by_path = {r.path: r for r in rows}
    assert by_path["conv1"].stride == (2, 2) and by_path["conv1"].output_size == (4, 3)
    assert by_path["conv1"].macs == 4 * 3 * 16 * 8
    assert by_path["downsample.0"].role == "projection"


def test_squeeze_excitation_convs_run_on_one_pixel():
    rows = describe("squeeze_excitation", 56, 56, 64)
    assert [(r.role, r.output_size, r.macs) for r in rows] == [
        ("attention", (1, 1), 64 * 4), ("attention", (1, 1), 4 * 64)]


def test_all_convs_adds_the_spatial_ones():
    rows = describe("inverted_residual", 14, 14, 16, all_convs=True)
    assert [r.role for r in rows] == ["expand", "depthwise 3x3", "reduce"]
    assert rows[1].groups == 96 and rows[1].macs == 14 * 14 * 96 * 9


@pytest.mark.parametrize("name", list(BLOCKS))
def test_every_block_describes_its_roles(name):
    rows = describe(name, 9, 7, 24)
    block = build(name, 24)
    declared = declared_roles(block)
    assert {r.path for r in rows} == {p for p, m in block.named_modules() if isinstance(m, Conv1x1)}
    assert all(r.role == declared[r.path] for r in rows if r.path in declared)
    assert all(r.role in ROLES for r in rows)  # every role has a meaning for the legend
    assert all(not r.role.startswith("head") for r in rows if r.path not in declared)
    assert all(len(r.cells()) == len(ConvRow.HEADERS) for r in rows)


@pytest.mark.parametrize("name", list(BLOCKS))
def test_a_block_declares_only_what_the_rules_cannot_see(name):
    block = build(name, 24)
    ruled = {r.path: r.role for r in describe_module(_undeclared(block), (1, 24, 9, 7),
                                                     output_feeds_layer=True)}
    assert all(ruled[path] != role for path, role in declared_roles(block).items())


def test_a_block_traced_alone_is_no_head_when_its_output_feeds_a_layer():
    # The pointwise conv makes the block's output (through BatchNorm and ReLU, no add after it).
    block = DepthwiseSeparable(16, 32)
    alone = {r.path: r.role for r in describe_module(block, (1, 16, 6, 6))}
    inside = {r.path: r.role
              for r in describe_module(block, (1, 16, 6, 6), output_feeds_layer=True)}
    assert alone == {"pointwise.0": "head"} and inside == {"pointwise.0": "expand"}
    assert [r.role for r in describe("depthwise_separable", 6, 6, 16)] == ["expand"]


def _undeclared(block):
    """A copy of ``block`` whose class declares no roles, so only the rules speak."""
    plain = type(type(block).__name__, (type(block),), {"conv1x1_roles": None})
    copy = copy_module(block)
    copy.__class__ = plain
    return copy


def test_large_inputs_cost_nothing_on_the_meta_device():
    # Self-attention on 224x224 would need a 50176^2 attention map; describe never builds it.
    rows = describe("self_attention", 224, 224, 64)
    assert [r.path for r in rows] == ["f", "g", "h"]
    assert rows[0].macs == 224 * 224 * 64 * 8


def test_describe_module_leaves_the_model_alone():
    torch.manual_seed(0)
    block = InvertedResidual(8, 8, 1, 6).train()
    block(torch.randn(4, 8, 5, 5))  # give BatchNorm some statistics
    before = {k: v.clone() for k, v in block.state_dict().items()}
    describe_module(block, (1, 8, 5, 5))
    assert block.training and all(m.training for m in block.modules())
    assert all(torch.equal(before[k], v) for k, v in block.state_dict().items())
    assert not any(m._forward_hooks for m in block.modules())


def test_rows_are_plain_data():
    row = describe("fire", 8, 8, 16)[0]
    assert dataclasses.asdict(row)["path"] == "squeeze"
    assert row.cells()[2] == "16 -> 2"


def test_names_are_forgiving_but_unknown_names_are_errors():
    assert [r.path for r in describe("Self-Attention", 4, 4, 16)] == ["f", "g", "h"]
    with pytest.raises(OneByOneError, match=r"unknown block 'resnext'; expected one of mlpconv, "
                                            r"fire, inception, bottleneck, .*detection_head"):
        describe("resnext", 8, 8, 16)


@pytest.mark.parametrize("args, message", [
    ((0, 8, 16), "height must be a positive integer; got 0"),
    ((8, 8.0, 16), "width must be a positive integer; got 8.0"),
    ((8, 8, -1), "channels must be a positive integer; got -1"),
])
def test_bad_sizes(args, message):
    with pytest.raises(OneByOneError, match=message):
        describe("fire", *args)


def test_describe_module_uses_the_module_dtype():
    rows = describe_module(Bottleneck(16, 4).double(), (1, 16, 5, 5))
    assert [r.path for r in rows] == ["conv1", "conv3"]


@pytest.mark.parametrize("name", list(BLOCKS))
@pytest.mark.parametrize("height, width, channels", [(1, 1, 1), (3, 2, 3), (2, 5, 1024)])
def test_every_default_block_builds_for_awkward_sizes(name, height, width, channels):
    rows = describe(name, height, width, channels)
    assert rows and all(r.macs > 0 and r.params > 0 for r in rows)


def test_roles_of_blocks_inside_a_network():
    from torch import nn

    from onebyone.blocks import Fire, SqueezeExcitation

    net = nn.Sequential(nn.Conv2d(3, 16, 3), Fire(16, 2, 4, 4), SqueezeExcitation(8, 2))
    rows = describe_module(net, (1, 3, 9, 9))
    assert [(r.path, r.role) for r in rows] == [
        ("1.squeeze", "reduce"), ("1.expand1x1", "expand"), ("2.fc1", "attention"),
        ("2.fc2", "attention")]
