"""GoogLeNet's Inception module (v1) with its 1x1 dimension reductions."""
import torch
from torch import nn
from torch.nn import functional as F

from . import _checks
from ._layers import conv


class BasicConv(nn.Module):
    """conv -> BatchNorm -> ReLU with torchvision's GoogLeNet names (``conv``, ``bn``).

    ``batch_norm=False`` gives the 2014 paper's layer instead: a conv with bias, then ReLU
    (``bn`` is then an Identity, which has no state, so the keys of the conv still match).
    """

    def __init__(self, in_channels, out_channels, kernel_size=1, batch_norm=True):
        super().__init__()
        self.conv = conv(in_channels, out_channels, kernel_size, bias=not batch_norm)
        # eps=1e-3 as in torchvision's GoogLeNet, so its trained statistics mean the same here.
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001) if batch_norm else nn.Identity()

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """The Inception module of GoogLeNet (Szegedy et al., 2015, arXiv:1409.4842, Fig. 2b).

    Four parallel branches over the same input, concatenated: a 1x1 conv; 1x1 reduce then 3x3;
    1x1 reduce then 5x5; 3x3 max-pool then 1x1 projection. Without the reductions the 3x3 and
    5x5 convs would read all ``in_channels`` and the module's cost would blow up.
    Output channels: ch1x1 + ch3x3 + ch5x5 + pool_proj.

    1x1 convs (roles by channel counts, the graph's rule, so ``inspect googlenet`` agrees; in
    GoogLeNet every one is a reduce):
      - ``branch1.conv``: in_channels -> ch1x1, a branch of its own.
      - ``branch2.0.conv``: in_channels -> ch3x3red, before the 3x3.
      - ``branch3.0.conv``: in_channels -> ch5x5red, before the 5x5.
      - ``branch4.1.conv``: in_channels -> pool_proj (the paper's "pool proj"), after the max-pool.

    Names follow torchvision.models.googlenet.Inception. torchvision's branch3 uses a 3x3 kernel
    where the paper has 5x5 (a known discrepancy); ``large_kernel_size=3`` matches it so its
    weights load. ``batch_norm=False`` builds the paper's module (conv + bias, no BatchNorm).
    Inception (3a) on 28x28x192:

    >>> import torch
    >>> block = Inception(192, 64, 96, 128, 16, 32, 32)
    >>> block(torch.randn(1, 192, 28, 28)).shape
    torch.Size([1, 256, 28, 28])
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, *,
                 large_kernel_size=5, batch_norm=True):
        super().__init__()
        name = type(self).__name__
        _checks.positive_ints(name, in_channels=in_channels, ch1x1=ch1x1, ch3x3red=ch3x3red,
                              ch3x3=ch3x3, ch5x5red=ch5x5red, ch5x5=ch5x5, pool_proj=pool_proj)
        _checks.one_of(name, "large_kernel_size", large_kernel_size, (3, 5))
        _checks.flag(name, "batch_norm", batch_norm)
        bn = {"batch_norm": batch_norm}
        self.branch1 = BasicConv(in_channels, ch1x1, **bn)
        self.branch2 = nn.Sequential(BasicConv(in_channels, ch3x3red, **bn),
                                     BasicConv(ch3x3red, ch3x3, 3, **bn))
        self.branch3 = nn.Sequential(BasicConv(in_channels, ch5x5red, **bn),
                                     BasicConv(ch5x5red, ch5x5, large_kernel_size, **bn))
        # ceil_mode as in torchvision; with stride 1 and padding 1 it changes nothing.
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv(in_channels, pool_proj, **bn))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)
