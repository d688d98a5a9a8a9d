"""Network in Network's mlpconv layer: a k x k conv, then a per-pixel MLP made of 1x1 convs."""
from torch import nn

from ..errors import OneByOneError
from . import _checks
from ._layers import conv


class MlpConv(nn.Module):
    """The mlpconv layer of Network in Network (Lin, Chen & Yan, 2014, arXiv:1312.4400).

    A k x k conv (in_channels -> channels[0]) followed by two 1x1 convs, each with a ReLU. The
    paper calls the 1x1 layers "cascaded cross channel parametric pooling" (cccp): together they
    are a small MLP applied to the channel vector of every pixel, shared across the image.

    1x1 convs:
      - ``cccp1``: channels[0] -> channels[1], a hidden layer of the per-pixel MLP.
      - ``cccp2``: channels[1] -> channels[2], the MLP's output layer.
    Roles by channel counts (the graph's rule): mix when the widths are equal.

    The first mlpconv of the authors' CIFAR-10 model (5x5 conv to 192, cccp to 160 and 96):

    >>> import torch
    >>> block = MlpConv(3, (192, 160, 96), kernel_size=5)
    >>> block(torch.randn(1, 3, 32, 32)).shape
    torch.Size([1, 96, 32, 32])
    """

    def __init__(self, in_channels, channels, kernel_size=3, stride=1):
        super().__init__()
        name = type(self).__name__
        _checks.positive_int(name, "in_channels", in_channels)
        if not isinstance(channels, (tuple, list)) or len(channels) != 3:
            raise OneByOneError(
                f"{name}: channels must be a tuple of 3 positive integers (conv, cccp1, cccp2); "
                f"got {channels!r}")
        for i, c in enumerate(channels):
            _checks.positive_int(name, f"channels[{i}]", c)
        _checks.odd_kernel(name, "kernel_size", kernel_size)
        _checks.positive_int(name, "stride", stride)
        c0, c1, c2 = channels
        self.conv = conv(in_channels, c0, kernel_size, stride)
        self.cccp1 = conv(c0, c1)
        self.cccp2 = conv(c1, c2)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.relu(self.conv(x))
        x = self.relu(self.cccp1(x))
        return self.relu(self.cccp2(x))
