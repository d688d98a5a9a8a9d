"""SqueezeNet's Fire module: squeeze with 1x1 convs, expand with 1x1 and 3x3 convs side by side."""
import torch
from torch import nn

from . import _checks
from ._layers import conv


class Fire(nn.Module):
    """The Fire module of SqueezeNet (Iandola et al., 2016, arXiv:1602.07360).

    A 1x1 "squeeze" conv cuts the channels, then an "expand" layer runs 1x1 and 3x3 convs on the
    squeezed tensor and concatenates them. Squeezing first means the 3x3 filters see only
    ``squeeze_planes`` input channels (the paper's strategy 2); the 1x1 expand filters are
    9x cheaper than 3x3 ones (strategy 1). Output channels: expand1x1_planes + expand3x3_planes.

    1x1 convs:
      - ``squeeze`` (reduce, as SqueezeNet sizes it): inplanes -> squeeze_planes, so the 3x3
        expand is cheap.
      - ``expand1x1`` (expand): squeeze_planes -> expand1x1_planes, the cheap half of the expand.
    Their roles are the graph's channel-count rule (onebyone.graph.roles), as for torchvision's.

    Names and arguments follow torchvision.models.squeezenet.Fire, so its weights load as is.
    SqueezeNet's fire2 (Table 1 of the paper: 11,920 parameters):

    >>> import torch
    >>> fire2 = Fire(96, 16, 64, 64)
    >>> fire2(torch.randn(1, 96, 55, 55)).shape
    torch.Size([1, 128, 55, 55])
    >>> sum(p.numel() for p in fire2.parameters())
    11920
    """

    def __init__(self, inplanes, squeeze_planes, expand1x1_planes, expand3x3_planes):
        super().__init__()
        name = type(self).__name__
        _checks.positive_ints(name, inplanes=inplanes, squeeze_planes=squeeze_planes,
                              expand1x1_planes=expand1x1_planes, expand3x3_planes=expand3x3_planes)
        self.inplanes = inplanes
        self.squeeze = conv(inplanes, squeeze_planes)
        self.squeeze_activation = nn.ReLU()
        self.expand1x1 = conv(squeeze_planes, expand1x1_planes)
        self.expand1x1_activation = nn.ReLU()
        self.expand3x3 = conv(squeeze_planes, expand3x3_planes, kernel_size=3)
        self.expand3x3_activation = nn.ReLU()

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], dim=1)
