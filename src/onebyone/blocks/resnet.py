"""ResNet's bottleneck block: 1x1 reduce, 3x3, 1x1 expand, plus a shortcut."""
from torch import nn

from ..errors import OneByOneError
from . import _checks
from ._layers import conv


class Bottleneck(nn.Module):
    """The bottleneck residual block of ResNet (He et al., 2016, arXiv:1512.03385, Fig. 5).

    ``conv1`` reduces the channels so the 3x3 ``conv2`` is cheap, ``conv3`` expands back to
    ``planes * 4``; the input is added to the result. When the shape changes (stride > 1 or
    inplanes != planes * 4) the shortcut is a strided 1x1 projection (option B of the paper).

    1x1 convs:
      - ``conv1`` (reduce): inplanes -> width (= planes for groups=1, base_width=64).
      - ``conv3`` (expand): width -> planes * 4, back to the residual stream's width.
        (These two by channel counts, the graph's rule: a block of equal widths says mix.)
      - ``downsample.0`` (projection): inplanes -> planes * 4 with the block's stride, on the
        shortcut, only when the shape changes.

    Names follow torchvision.models.resnet.Bottleneck, which puts the stride on the 3x3 conv
    ("ResNet v1.5"). ``stride_in_1x1=True`` puts it on ``conv1`` as in the paper: a strided 1x1
    conv, which simply skips 3 of every 4 pixels. The paper's conv2_x block on 56x56x256:

    >>> import torch
    >>> block = Bottleneck(256, 64)
    >>> block(torch.randn(1, 256, 56, 56)).shape
    torch.Size([1, 256, 56, 56])
    >>> Bottleneck(256, 128, stride=2)(torch.randn(1, 256, 56, 56)).shape
    torch.Size([1, 512, 28, 28])
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, groups=1, base_width=64, *,
                 stride_in_1x1=False):
        super().__init__()
        name = type(self).__name__
        _checks.positive_ints(name, inplanes=inplanes, planes=planes, stride=stride, groups=groups,
                              base_width=base_width)
        _checks.flag(name, "stride_in_1x1", stride_in_1x1)
        # ResNeXt's width rule, as in torchvision: groups * (planes * base_width / 64).
        width = int(planes * (base_width / 64.0)) * groups
        if width < 1:
            raise OneByOneError(
                f"{name}: planes * base_width / 64 must be at least 1; got planes={planes}, "
                f"base_width={base_width}")
        out = planes * self.expansion
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = conv(inplanes, width, stride=s1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv(width, width, 3, stride=s3, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv(width, out, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(conv(inplanes, out, stride=stride, bias=False),
                                            nn.BatchNorm2d(out))
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)
