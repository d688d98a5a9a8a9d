"""Squeeze-and-excitation: per-channel gates computed by two 1x1 convs on the pooled image."""
from torch import nn

from . import _checks
from ._layers import conv


class SqueezeExcitation(nn.Module):
    """The squeeze-and-excitation block (Hu et al., 2018, arXiv:1709.01507, Fig. 2 and eq. 2-4).

    Squeeze: average-pool each channel to one number. Excitation: a bottleneck MLP (reduce by
    ``r``, ReLU, expand back, sigmoid) turns those C numbers into C gates in (0, 1), and every
    channel of the input is multiplied by its gate. The MLP runs on a 1x1 image, so its two
    layers are 1x1 convs (as in torchvision) and cost almost nothing: 2 C^2 / r weights.

    1x1 convs (on the 1x1 pooled tensor; role attention, channel attention, as the graph's rule
    says of every 1x1 conv with a one-pixel output):
      - ``fc1``: input_channels -> squeeze_channels (reduce by r).
      - ``fc2``: squeeze_channels -> input_channels, the gate logits.

    squeeze_channels defaults to input_channels // 16 (the paper's r = 16), at least 1. Names
    follow torchvision.ops.SqueezeExcitation.

    >>> import torch
    >>> se = SqueezeExcitation(64)
    >>> se.fc1.out_channels
    4
    >>> se(torch.randn(2, 64, 7, 7)).shape
    torch.Size([2, 64, 7, 7])
    """

    def __init__(self, input_channels, squeeze_channels=None):
        super().__init__()
        name = type(self).__name__
        _checks.positive_int(name, "input_channels", input_channels)
        if squeeze_channels is None:
            squeeze_channels = max(1, input_channels // 16)
        _checks.positive_int(name, "squeeze_channels", squeeze_channels)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = conv(input_channels, squeeze_channels)
        self.fc2 = conv(squeeze_channels, input_channels)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x):
        scale = self.avgpool(x)                        # (N, C, 1, 1)
        scale = self.activation(self.fc1(scale))       # (N, C/r, 1, 1)
        scale = self.scale_activation(self.fc2(scale)) # (N, C, 1, 1), one gate per channel
        return scale * x
