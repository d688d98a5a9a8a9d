"""The two conv shapes every block is made of: a conv, and conv -> BatchNorm -> activation."""
from torch import nn

from ..nn import Conv1x1


def conv(in_channels, out_channels, kernel_size=1, stride=1, groups=1, bias=True):
    """Conv1x1 for a 1x1 kernel (the op this library is about); nn.Conv2d with 'same' padding
    for a k x k kernel."""
    if kernel_size == 1:
        return Conv1x1(in_channels, out_channels, stride=stride, groups=groups, bias=bias)
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                     padding=kernel_size // 2, groups=groups, bias=bias)


def conv_norm_act(in_channels, out_channels, kernel_size=1, stride=1, groups=1,
                  activation=nn.ReLU):
    """conv (no bias: BatchNorm's shift replaces it) -> BatchNorm2d -> activation.

    A Sequential, so its state_dict keys are 0.weight, 1.weight, ... exactly like torchvision's
    Conv2dNormActivation, and torchvision weights load without renaming.
    """
    return nn.Sequential(
        conv(in_channels, out_channels, kernel_size, stride, groups, bias=False),
        nn.BatchNorm2d(out_channels),
        activation(),
    )
