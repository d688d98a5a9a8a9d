"""Conv1x1: a drop-in for nn.Conv{1,2,3}d(kernel_size=1) that runs onebyone's conv1x1.

>>> import torch
>>> from onebyone.nn import Conv1x1
>>> Conv1x1(16, 4, dims=1)(torch.randn(2, 16, 9)).shape
torch.Size([2, 4, 9])
"""
import math

import torch
import torch.fx
from torch import nn

from ._checks import positive_int
from ._validate import validate
from .core import conv1x1
from .errors import OneByOneError

# torch.fx records conv1x1 as one call instead of tracing into its Python checks.
torch.fx.wrap("conv1x1")

_CONVS = {nn.Conv1d: 1, nn.Conv2d: 2, nn.Conv3d: 3}


class Conv1x1(nn.Module):
    """A 1x1 convolution with nn.Conv2d's constructor, parameter names and shapes.

    ``dims`` picks Conv1d / Conv2d / Conv3d behaviour (default 2). Parameters are initialised
    exactly as torch initialises a conv, and ``load_state_dict`` works both ways with
    nn.Conv{dims}d(kernel_size=1). ``method`` is passed to conv1x1 ("auto" picks the fastest).

    >>> import torch
    >>> conv = torch.nn.Conv2d(8, 4, kernel_size=1)
    >>> fast = Conv1x1.from_conv(conv)
    >>> x = torch.randn(2, 8, 5, 5)
    >>> torch.allclose(fast(x), conv(x), atol=1e-6)
    True
    >>> fast(x[0]).shape                      # one unbatched image, as nn.Conv2d takes it
    torch.Size([4, 5, 5])
    >>> fast.weight.shape
    torch.Size([4, 8, 1, 1])
    """

    def __init__(self, in_channels, out_channels, kernel_size=1, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None, *, dims=2, method="auto"):
        super().__init__()
        if dims not in (1, 2, 3):
            raise OneByOneError(f"dims must be 1, 2 or 3; got {dims!r}")
        kernel = (kernel_size,) * dims if isinstance(kernel_size, int) else tuple(kernel_size)
        if any(k != 1 for k in kernel):
            raise OneByOneError(f"Conv1x1 needs kernel_size 1; got {kernel_size!r}")
        if padding_mode != "zeros":
            # Other modes pad with copies of the input, which a 1x1 kernel then reads as data.
            raise OneByOneError(f"Conv1x1 supports padding_mode='zeros'; got {padding_mode!r}")
        in_channels = positive_int(in_channels, "in_channels")
        out_channels = positive_int(out_channels, "out_channels")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 \
                or in_channels % groups or out_channels % groups:
            raise OneByOneError(
                f"groups must be a positive integer dividing in_channels={in_channels} and "
                f"out_channels={out_channels}; got {groups!r}"
            )
        self.in_channels, self.out_channels, self.dims = in_channels, out_channels, dims
        self.kernel_size = (1,) * dims
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size, **factory))
        self.bias = nn.Parameter(torch.empty(out_channels, **factory)) if bias else None
        # Validate stride/padding/method now, not at the first forward.
        call = validate(torch.empty((0, in_channels) + (1,) * dims, **factory), self.weight, self.bias,
                        stride, padding, groups, "channels_first", method)
        # Tuples, one entry per spatial axis, as nn.ConvNd stores them (a padding string stays).
        self.stride = call.stride
        self.padding = padding if isinstance(padding, str) else call.padding
        self.dilation = (dilation,) * dims if isinstance(dilation, int) else tuple(dilation)  # no effect at 1x1
        self.groups, self.padding_mode, self.method = groups, padding_mode, method
        self.reset_parameters()

    def reset_parameters(self):
        # The same initialisation as torch.nn.modules.conv._ConvNd.
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.weight.shape[1])
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        # Tracers and exporters (torch.jit.trace, torch.export, both torch.onnx.export paths)
        # get the framework conv: one Conv node, no Python-side plans.
        exporting = torch.jit.is_tracing() or torch.compiler.is_exporting()
        method = "torch" if exporting else self.method
        return conv1x1(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                       groups=self.groups, method=method)

    @classmethod
    def from_conv(cls, conv, method="auto"):
        """A Conv1x1 with the same configuration and a copy of the weights of a k=1 nn.ConvNd."""
        dims = _CONVS.get(type(conv))
        if dims is None:
            raise OneByOneError(f"expected an nn.Conv1d, Conv2d or Conv3d; got {type(conv).__name__}")
        if any(k != 1 for k in conv.kernel_size):
            raise OneByOneError(f"expected kernel_size 1; got {conv.kernel_size} in {conv}")
        if conv.padding_mode != "zeros":
            raise OneByOneError(f"expected padding_mode='zeros'; got {conv.padding_mode!r} in {conv}")
        new = cls(conv.in_channels, conv.out_channels, 1, conv.stride, conv.padding, conv.dilation,
                  conv.groups, conv.bias is not None, device=conv.weight.device,
                  dtype=conv.weight.dtype, dims=dims, method=method)
        new.load_state_dict(conv.state_dict())
        return new

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, dims={self.dims}"
        if self.stride != (1,) * self.dims:
            s += f", stride={self.stride}"
        if self.padding != (0,) * self.dims:
            s += f", padding={self.padding!r}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s + (f", method={self.method!r}" if self.method != "auto" else "")
