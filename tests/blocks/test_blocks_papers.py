"""Parameter counts and multiply-adds against the formulas and tables of the papers."""
import copy

import pytest

from onebyone.blocks import (Bottleneck, DepthwiseSeparable, DetectionHead, Fire, Inception,
                             InvertedResidual, MlpConv, SelfAttention2d, SqueezeExcitation,
                             describe_module)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def total_macs(block, shape):
    """Multiply-adds of all convs, measured on the meta device (no arithmetic is done)."""
    meta = copy.deepcopy(block).to("meta")
    return sum(row.macs for row in describe_module(meta, shape, all_convs=True))


def test_mlpconv_nin_cifar_block():
    # Lin et al. 2014 (NiN), the authors' CIFAR-10 model: 5x5 conv 3->192, cccp 192->160,
    # cccp 160->96, each with biases.
    block = MlpConv(3, (192, 160, 96), kernel_size=5)
    assert n_params(block) == (25 * 3 * 192 + 192) + (192 * 160 + 160) + (160 * 96 + 96)


@pytest.mark.parametrize("cin, s, e1, e3, table", [
    (96, 16, 64, 64, 11_920),    # fire2
    (128, 16, 64, 64, 12_432),   # fire3
    (128, 32, 128, 128, 45_344),  # fire4
    (256, 32, 128, 128, 49_440),  # fire5
])
def test_fire_matches_squeezenet_table_1(cin, s, e1, e3, table):
    # Iandola et al. 2016, Table 1 "# parameter before pruning"; with biases:
    # squeeze s(Cin + 1) + expand1x1 e1(s + 1) + expand3x3 e3(9s + 1).
    block = Fire(cin, s, e1, e3)
    assert n_params(block) == s * (cin + 1) + e1 * (s + 1) + e3 * (9 * s + 1) == table


@pytest.mark.parametrize("cin, widths, millions", [
    (192, (64, 96, 128, 16, 32, 32), 128),    # inception (3a)
    (256, (128, 128, 192, 32, 96, 64), 304),  # inception (3b)
])
def test_inception_matches_googlenet_table_1(cin, widths, millions):
    # Szegedy et al. 2015, Table 1, on 28x28: "ops" = multiply-adds of the module's convs.
    c1, r3, c3, r5, c5, pp = widths
    block = Inception(cin, *widths, batch_norm=False)  # the paper's module: conv + bias + ReLU
    weights = cin * c1 + cin * r3 + 9 * r3 * c3 + cin * r5 + 25 * r5 * c5 + cin * pp
    assert n_params(block) == weights + (c1 + r3 + c3 + r5 + c5 + pp)
    macs = total_macs(block, (1, cin, 28, 28))
    assert macs == weights * 28 * 28  # stride 1, 'same' padding: every weight used per pixel
    assert macs // 10**6 == millions


def test_bottleneck_matches_resnet_figure_5():
    # He et al. 2016, Fig. 5 (right): 256-d in, 1x1 64, 3x3 64, 1x1 256; no conv biases;
    # BatchNorm adds a scale and shift per channel.
    block = Bottleneck(256, 64)
    weights = 256 * 64 + 9 * 64 * 64 + 64 * 256
    assert weights == 69_632
    assert n_params(block) == weights + 2 * (64 + 64 + 256)
    assert block.downsample is None
    # A projection shortcut (option B) adds a 1x1 conv Cin -> 4 * planes and its BatchNorm.
    block = Bottleneck(256, 128, stride=2)
    assert n_params(block) == (256 * 128 + 9 * 128 * 128 + 128 * 512 + 2 * (128 + 128 + 512)
                               + 256 * 512 + 2 * 512)


@pytest.mark.parametrize("d_in, d_out, t", [(24, 24, 6), (16, 24, 6), (32, 32, 1)])
def test_inverted_residual_matches_mobilenetv2_table_1(d_in, d_out, t):
    # Sandler et al. 2018, Section 3 (with Table 1): a block of input d', output d'', expansion t
    # and kernel k costs h * w * d' * t * (d' + k^2 + d'') multiply-adds (stride 1). With t = 1
    # there is no expansion conv, so the d' * d' term is absent.
    h, w, k = 7, 5, 3
    block = InvertedResidual(d_in, d_out, 1, t)
    expand = d_in * t * d_in if t != 1 else 0
    assert total_macs(block, (1, d_in, h, w)) == h * w * (expand + d_in * t * (k * k + d_out))
    bn = 2 * ((d_in * t if t != 1 else 0) + d_in * t + d_out)
    assert n_params(block) == expand + 9 * d_in * t + d_in * t * d_out + bn


def test_depthwise_separable_matches_mobilenet_equation_5():
    # Howard et al. 2017, eq. 4 and 5: depthwise D_K^2 M D_F^2 + pointwise M N D_F^2 multiply-adds,
    # a fraction 1/N + 1/D_K^2 of a standard D_K x D_K conv.
    m, n, dk, df = 32, 64, 3, 14
    block = DepthwiseSeparable(m, n)
    macs = total_macs(block, (1, m, df, df))
    assert macs == dk * dk * m * df * df + m * n * df * df
    assert macs / (dk * dk * m * n * df * df) == pytest.approx(1 / n + 1 / dk**2)
    assert n_params(block) == dk * dk * m + m * n + 2 * (m + n)


@pytest.mark.parametrize("c, r", [(64, 16), (256, 16), (48, 4)])
def test_squeeze_excitation_adds_2c2_over_r_weights(c, r):
    # Hu et al. 2018, Section 4: an SE block adds (2 / r) * C^2 weights (plus the two biases).
    block = SqueezeExcitation(c, c // r)
    assert n_params(block) == 2 * c * c // r + (c // r + c)


@pytest.mark.parametrize("c, cv", [(64, None), (64, 8)])
def test_self_attention_sagan_weights(c, cv):
    # Zhang et al. 2019, Section 3: W_f, W_g are (C/8) x C, W_h is Cv x C, W_v is C x Cv when
    # Cv != C; each 1x1 conv has a bias; gamma is one scalar.
    block = SelfAttention2d(c, value_channels=cv)
    cv = cv or c
    expected = 2 * (c // 8 * c + c // 8) + (cv * c + cv) + 1
    if cv != c:
        expected += c * cv + c
    assert n_params(block) == expected


def test_detection_head_matches_faster_rcnn_output_layer():
    # Ren et al. 2015, Section 3.1.1: with k = 9 anchors the output layer has
    # 512 x (4 + 2) x 9 = 2.8 x 10^4 weights (VGG-16, 2 scores per anchor).
    head = DetectionHead(512, num_anchors=9, num_classes=2)
    weights = head.cls_logits.weight.numel() + head.bbox_pred.weight.numel()
    assert weights == 512 * (4 + 2) * 9 == 27_648
    assert n_params(head) == 9 * 512 * 512 + 512 + weights + 9 * (4 + 2)
