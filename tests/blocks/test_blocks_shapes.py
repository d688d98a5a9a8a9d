"""Every block: output shapes on awkward sizes, Conv1x1 for every 1x1 conv, gradients, errors."""
import pytest
import torch
import torch.fx
from torch import nn

from onebyone import OneByOneError
from onebyone.blocks import (BLOCKS, Bottleneck, DepthwiseSeparable, DetectionHead, Fire,
                             Inception, InvertedResidual, MlpConv, SelfAttention2d,
                             SqueezeExcitation, describe)
from onebyone.nn import Conv1x1

# (block, input shape, output shape): odd and non-square grids, batch 2, C = 1 where it exists.
SHAPES = [
    (lambda: MlpConv(3, (8, 6, 4), kernel_size=5), (2, 3, 7, 5), (2, 4, 7, 5)),
    (lambda: MlpConv(3, (8, 6, 4), stride=2), (1, 3, 7, 5), (1, 4, 4, 3)),
    (lambda: Fire(16, 2, 5, 3), (2, 16, 7, 5), (2, 8, 7, 5)),
    (lambda: Fire(1, 1, 1, 1), (1, 1, 3, 3), (1, 2, 3, 3)),
    (lambda: Inception(16, 4, 3, 5, 2, 6, 7), (2, 16, 7, 5), (2, 22, 7, 5)),
    (lambda: Inception(16, 4, 3, 5, 2, 6, 7, large_kernel_size=3, batch_norm=False),
     (1, 16, 7, 5), (1, 22, 7, 5)),
    (lambda: Bottleneck(16, 4), (2, 16, 7, 5), (2, 16, 7, 5)),
    (lambda: Bottleneck(16, 8, stride=2), (1, 16, 7, 5), (1, 32, 4, 3)),
    (lambda: Bottleneck(16, 8, stride=2, stride_in_1x1=True), (1, 16, 7, 5), (1, 32, 4, 3)),
    (lambda: Bottleneck(16, 4, groups=2, base_width=32), (1, 16, 8, 8), (1, 16, 8, 8)),
    (lambda: InvertedResidual(16, 16, 1, 6), (2, 16, 7, 5), (2, 16, 7, 5)),
    (lambda: InvertedResidual(16, 24, 2, 1), (1, 16, 7, 5), (1, 24, 4, 3)),
    (lambda: DepthwiseSeparable(16, 32), (2, 16, 7, 5), (2, 32, 7, 5)),
    (lambda: DepthwiseSeparable(1, 3, stride=2), (1, 1, 7, 5), (1, 3, 4, 3)),
    (lambda: SqueezeExcitation(16), (2, 16, 7, 5), (2, 16, 7, 5)),
    (lambda: SqueezeExcitation(1), (1, 1, 3, 3), (1, 1, 3, 3)),
    (lambda: SelfAttention2d(16), (2, 16, 7, 5), (2, 16, 7, 5)),
    (lambda: SelfAttention2d(16, value_channels=2), (1, 16, 7, 5), (1, 16, 7, 5)),
    (lambda: SelfAttention2d(1), (1, 1, 3, 3), (1, 1, 3, 3)),
]


@pytest.mark.parametrize("make, shape, expected", SHAPES)
def test_output_shape(make, shape, expected):
    torch.manual_seed(0)
    assert make()(torch.randn(shape)).shape == expected


def test_detection_head_shapes():
    head = DetectionHead(16, num_anchors=3, num_classes=5)
    scores, boxes = head(torch.randn(2, 16, 7, 5))
    assert scores.shape == (2, 15, 7, 5) and boxes.shape == (2, 12, 7, 5)
    rows, deltas = head.per_anchor(scores, boxes)
    assert rows.shape == (2, 7 * 5 * 3, 5) and deltas.shape == (2, 7 * 5 * 3, 4)
    # Row (position p, anchor a) holds channels a*K .. a*K+K-1 of the score map at p.
    p_y, p_x, a = 4, 2, 1
    row = (p_y * 5 + p_x) * 3 + a
    torch.testing.assert_close(rows[1, row], scores[1, a * 5:(a + 1) * 5, p_y, p_x])
    torch.testing.assert_close(deltas[1, row], boxes[1, a * 4:(a + 1) * 4, p_y, p_x])


@pytest.mark.parametrize("name", list(BLOCKS))
def test_every_1x1_conv_is_a_conv1x1_with_a_role(name):
    block = BLOCKS[name](16)
    modules = dict(block.named_modules())
    pointwise = {p for p, m in modules.items()
                 if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)}
    assert not pointwise, f"{name} has nn.Conv2d 1x1 convs {pointwise}; they should be Conv1x1"
    conv1x1s = {p for p, m in modules.items() if isinstance(m, Conv1x1)}
    assert {r.path for r in describe(name, 8, 8, 16)} == conv1x1s


@pytest.mark.parametrize("name", list(BLOCKS))
def test_gradients_reach_every_parameter(name):
    torch.manual_seed(0)
    block = BLOCKS[name](16)
    if isinstance(block, SelfAttention2d):
        nn.init.constant_(block.gamma, 0.5)  # at gamma = 0, f, g and h get zero gradient
    out = block(torch.randn(2, 16, 6, 5, requires_grad=True))
    outs = out if isinstance(out, tuple) else (out,)
    # A random weighting, not sum(): SE and BatchNorm can make the sum's gradient vanish.
    loss = sum((o * torch.randn_like(o)).sum() for o in outs)
    loss.backward()
    for path, p in block.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), path
        assert p.grad.abs().sum() > 0, f"{name}.{path} got a zero gradient"


ERRORS = [
    (lambda: MlpConv(3, (8, 6)), "MlpConv: channels must be a tuple of 3 positive integers"),
    (lambda: MlpConv(3, (8, 6, 4), kernel_size=4), "MlpConv: kernel_size must be an odd"),
    (lambda: Fire(16, 0, 4, 4), "Fire: squeeze_planes must be a positive integer; got 0"),
    (lambda: Inception(16, 4, 3, 5, 2, 6, 7, large_kernel_size=7),
     "Inception: large_kernel_size must be one of 3, 5; got 7"),
    (lambda: Inception(16.0, 4, 3, 5, 2, 6, 7),
     "Inception: in_channels must be a positive integer; got 16.0"),
    (lambda: Bottleneck(16, 4, stride=0), "Bottleneck: stride must be a positive integer; got 0"),
    (lambda: Bottleneck(16, 1, base_width=32),
     "Bottleneck: planes * base_width / 64 must be at least 1"),
    (lambda: Bottleneck(16, 4, stride_in_1x1=1),
     "Bottleneck: stride_in_1x1 must be True or False; got 1"),
    (lambda: InvertedResidual(16, 16, 3, 6), "InvertedResidual: stride must be one of 1, 2; got 3"),
    (lambda: InvertedResidual(16, 16, 1, -1),
     "InvertedResidual: expand_ratio must be a positive number; got -1"),
    (lambda: InvertedResidual(1, 16, 1, 0.1),
     "InvertedResidual: inp * expand_ratio must round to at least 1"),
    (lambda: DepthwiseSeparable(16, True),
     "DepthwiseSeparable: out_channels must be a positive integer; got True"),
    (lambda: SqueezeExcitation(16, 0),
     "SqueezeExcitation: squeeze_channels must be a positive integer; got 0"),
    (lambda: SelfAttention2d(16, reduction=0),
     "SelfAttention2d: reduction must be a positive integer; got 0"),
    (lambda: DetectionHead(16, num_anchors=0),
     "DetectionHead: num_anchors must be a positive integer; got 0"),
]


@pytest.mark.parametrize("make, message", ERRORS)
def test_bad_arguments_say_what_was_expected_and_given(make, message):
    with pytest.raises(OneByOneError) as info:
        make()
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("name", list(BLOCKS))
def test_channels_last_input_gives_the_same_output(name):
    torch.manual_seed(0)
    block = BLOCKS[name](16).eval()
    x = torch.randn(2, 16, 7, 5)
    with torch.no_grad():
        expected, got = block(x), block(x.to(memory_format=torch.channels_last))
    # float32: a channels_last input may take another kernel, which sums in another order.
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", list(BLOCKS))
def test_every_block_traces_with_torch_fx(name):
    # inspect and optimize work on fx graphs, so every block must trace, with the same output.
    torch.manual_seed(0)
    block = BLOCKS[name](16).eval()
    traced = torch.fx.symbolic_trace(block)
    x = torch.randn(1, 16, 6, 5)
    with torch.no_grad():
        torch.testing.assert_close(traced(x), block(x))
