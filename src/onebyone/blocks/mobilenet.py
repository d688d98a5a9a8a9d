"""MobileNet's blocks: the depthwise-separable conv (v1) and the inverted residual (v2)."""
from torch import nn

from ..errors import OneByOneError
from . import _checks
from ._layers import conv, conv_norm_act


class DepthwiseSeparable(nn.Module):
    """A depthwise-separable conv, the layer of MobileNet v1 (Howard et al., 2017,
    arXiv:1704.04861, Fig. 3): a 3x3 depthwise conv (one filter per channel, no channel mixing)
    then a 1x1 pointwise conv (all the channel mixing, no spatial extent), each with BatchNorm
    and ReLU. It costs 1/out_channels + 1/9 of a full 3x3 conv (the paper's eq. 5).

    1x1 convs:
      - ``pointwise.0`` (by channel counts, e.g. expand for 32 -> 64): in_channels ->
        out_channels, combines the depthwise outputs.

    >>> import torch
    >>> block = DepthwiseSeparable(32, 64)
    >>> block(torch.randn(1, 32, 16, 16)).shape
    torch.Size([1, 64, 16, 16])
    """

    def __init__(self, in_channels, out_channels, stride=1, kernel_size=3):
        super().__init__()
        name = type(self).__name__
        _checks.positive_ints(name, in_channels=in_channels, out_channels=out_channels,
                              stride=stride)
        _checks.odd_kernel(name, "kernel_size", kernel_size)
        self.depthwise = conv_norm_act(in_channels, in_channels, kernel_size, stride,
                                       groups=in_channels)
        self.pointwise = conv_norm_act(in_channels, out_channels)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class InvertedResidual(nn.Module):
    """The inverted residual block of MobileNetV2 (Sandler et al., 2018, arXiv:1801.04381,
    Table 1): 1x1 expand (ReLU6), 3x3 depthwise (ReLU6), 1x1 linear projection, and a shortcut
    when stride is 1 and inp == oup. The residual stream is thin; the work happens in the
    expanded ``inp * expand_ratio`` channels. The projection has no activation because a ReLU
    on a low-dimensional tensor destroys information (the paper's "linear bottleneck").

    1x1 convs:
      - ``conv.0.0`` (expand): inp -> inp * expand_ratio; absent when expand_ratio == 1.
      - the last conv, ``conv.2`` (``conv.1`` if expand_ratio == 1): the paper's linear
        projection back to oup (role by channel counts, the graph's rule: a reduce when
        expanded, as ``inspect mobilenet_v2`` says).

    Names and arguments follow torchvision.models.mobilenetv2.InvertedResidual.

    >>> import torch
    >>> block = InvertedResidual(24, 24, stride=1, expand_ratio=6)
    >>> block(torch.randn(1, 24, 14, 14)).shape
    torch.Size([1, 24, 14, 14])
    """

    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        name = type(self).__name__
        _checks.positive_ints(name, inp=inp, oup=oup)
        _checks.one_of(name, "stride", stride, (1, 2))
        _checks.positive_number(name, "expand_ratio", expand_ratio)
        hidden = int(round(inp * expand_ratio))
        if hidden < 1:
            raise OneByOneError(
                f"{name}: inp * expand_ratio must round to at least 1 channel; got inp={inp}, "
                f"expand_ratio={expand_ratio}")
        self.stride = stride
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(conv_norm_act(inp, hidden, activation=nn.ReLU6))
        layers += [
            conv_norm_act(hidden, hidden, 3, stride, groups=hidden, activation=nn.ReLU6),
            # A bare conv and norm, no activation: the projection stays linear.
            conv(hidden, oup, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)
