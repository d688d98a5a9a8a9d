"""The 1x1 convs of a block as plain data: what each does and what it costs, measured by
running the block with forward hooks (so the numbers are what the block really computes)."""
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ..errors import OneByOneError
from ..nn import Conv1x1

_CONV_TYPES = (Conv1x1, nn.Conv1d, nn.Conv2d, nn.Conv3d)

# What each role of a 1x1 conv means, for a legend under a table of rows.
ROLES = {
    "reduce": "fewer channels out than in, so the conv after it (or the MLP) is cheap",
    "expand": "more channels out than in: back to the block's width, or a wider space to work in",
    "mix": "a per-pixel linear layer across channels, followed by a nonlinearity",
    "project": "a linear map to the width the block must output (no activation), or a shortcut",
    "attention key": "f(x): what each position offers to be matched against",
    "attention query": "g(x): what each position looks for",
    "attention value": "h(x): what each position passes on once attended to",
    "predict: scores": "per-anchor class logits at every position",
    "predict: boxes": "per-anchor box offsets (dx, dy, dw, dh) at every position",
}


@dataclass(frozen=True)
class ConvRow:
    """One conv call inside a block, for a batch of one image."""

    path: str            # module path inside the block, e.g. "branch2.0.conv"
    role: str            # reduce / expand / mix / project / attention ... / predict ... / spatial kxk
    in_channels: int
    out_channels: int
    kernel_size: tuple   # (1, 1) for a 1x1 conv
    groups: int
    stride: tuple
    output_size: tuple   # spatial size of the output, e.g. (28, 28)
    params: int          # weight + bias elements
    macs: int            # multiply-adds: output elements * (in_channels / groups) * kernel area

    HEADERS: ClassVar[tuple] = ("module", "role", "Cin -> Cout", "kernel", "groups", "stride",
                                "output", "params", "multiply-adds")

    def cells(self):
        """The row as strings, in the order of HEADERS (for a rich or plain-text table)."""
        return [self.path, self.role, f"{self.in_channels} -> {self.out_channels}",
                _x(self.kernel_size), str(self.groups), _x(self.stride), _x(self.output_size),
                f"{self.params:,}", f"{self.macs:,}"]


def _x(sizes):
    return "x".join(map(str, sizes))


def describe_module(module, input_shape, all_convs=False):
    """Run ``module`` once on zeros of ``input_shape`` (batch first, e.g. (1, C, H, W)) and
    return a ConvRow per 1x1 conv call (per conv call of any kernel if ``all_convs``), in call
    order. Roles come from ``conv1x1_roles()`` of the module and of any block inside it.

    The module runs in eval mode under no_grad, and its train/eval flags are restored, so
    BatchNorm statistics are not touched. A module on the "meta" device runs without computing
    anything, which is how ``describe`` handles large inputs.
    """
    roles = _roles(module)
    rows, handles = [], []
    for path, sub in module.named_modules():
        if isinstance(sub, _CONV_TYPES) and (all_convs or _is_1x1(sub)):
            handles.append(sub.register_forward_hook(_recorder(path, roles, rows)))
    flags = [(m, m.training) for m in module.modules()]
    # The input lives where the weights live and has their dtype (conv1x1 insists on a match).
    param = next(module.parameters(), None)
    like = {} if param is None else {"device": param.device, "dtype": param.dtype}
    try:
        module.eval()
        with torch.no_grad():
            module(torch.zeros(input_shape, **like))
    finally:
        for handle in handles:
            handle.remove()
        for m, training in flags:
            m.training = training
    return rows


def _roles(module):
    """Every block's roles, keyed by path from ``module`` (blocks may sit inside a network)."""
    roles = {}
    for prefix, sub in module.named_modules():
        if hasattr(sub, "conv1x1_roles"):
            for path, role in sub.conv1x1_roles().items():
                roles[f"{prefix}.{path}" if prefix else path] = role
    return roles


def _is_1x1(conv):
    return all(k == 1 for k in conv.kernel_size)


def _recorder(path, roles, rows):
    def hook(conv, inputs, output):
        spatial = output.dim() - 2
        kernel = tuple(conv.kernel_size)
        stride = conv.stride if isinstance(conv.stride, tuple) else (conv.stride,) * spatial
        area = math.prod(kernel)
        per_image = output[0].numel()      # Cout * output pixels
        rows.append(ConvRow(
            path=path, role=roles.get(path) or _default_role(conv, kernel),
            in_channels=conv.in_channels, out_channels=conv.out_channels, kernel_size=kernel,
            groups=conv.groups, stride=tuple(stride), output_size=tuple(output.shape[2:]),
            params=sum(p.numel() for p in conv.parameters(recurse=False)),
            macs=per_image * (conv.in_channels // conv.groups) * area,
        ))
    return hook


def _default_role(conv, kernel):
    if all(k == 1 for k in kernel):
        return "1x1"
    depthwise = conv.groups == conv.in_channels and conv.groups > 1
    return f"{'depthwise' if depthwise else 'spatial'} {_x(kernel)}"


def describe(name, height, width, channels, all_convs=False):
    """The 1x1 convs of the block ``name`` (a key of BLOCKS, built with its defaults for
    ``channels``) on a height x width x channels input, as a list of ConvRow.

    >>> rows = describe("fire", 55, 55, 96)
    >>> [(r.path, r.role, r.in_channels, r.out_channels, r.macs) for r in rows]
    [('squeeze', 'reduce', 96, 12, 3484800), ('expand1x1', 'expand', 12, 48, 1742400)]
    """
    from ._registry import build

    for arg, value in (("height", height), ("width", width), ("channels", channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise OneByOneError(f"{arg} must be a positive integer; got {value!r}")
    # Built and run on the meta device: shapes only, no memory for (H*W)^2 attention maps.
    with torch.device("meta"):
        block = build(name, channels)
    return describe_module(block, (1, channels, height, width), all_convs)
