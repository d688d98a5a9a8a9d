"""Which axis of x is what: a batch or one sample, channels first or last.

torch's conv decides by the weight's rank: conv2d's (Cout, Cin, 1, 1) weight takes a batch
(N, C, H, W) or one unbatched image (C, H, W). A plain (Cout, Cin) matrix carries no spatial
rank, so x's rank alone must say it, and a 3-D x could be (N, C, L) or (C, H, W): the batched
reading stays (it is what conv1x1 always did), and when it does not fit, the error names the
unbatched reading that would.

Per number of spatial axes (1, 2, 3), this is also where their names and torch's conv class and
function are looked up, for the op, the graph and the explanation alike.
"""
from .errors import OneByOneError

SPATIAL_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
_WHAT = {1: "signal", 2: "image", 3: "volume"}


def names(spatial, sep=", "):
    """The spatial axes' names, joined by `sep`.

    >>> names(3, " x "), names(2, "*"), names(1)
    ('D x H x W', 'H*W', 'L')
    """
    return sep.join(SPATIAL_NAMES[spatial])


def conv_function(spatial):
    """torch's functional conv for `spatial` axes: F.conv1d, F.conv2d or F.conv3d.

    >>> import torch
    >>> conv_function(3) is torch.nn.functional.conv3d
    True
    """
    import torch.nn.functional as F

    return {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[spatial]


def conv_module(spatial):
    """torch's conv class for `spatial` axes: nn.Conv1d, nn.Conv2d or nn.Conv3d.

    >>> conv_module(1).__name__
    'Conv1d'
    """
    from torch import nn

    return {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[spatial]


def form(spatial, batched, layout):
    """The axes of x, spelled out.

    >>> form(2, True, "channels_first"), form(3, False, "channels_last")
    ('(N, C, H, W)', '(D, H, W, C)')
    """
    spatial_names = SPATIAL_NAMES[spatial]
    axes = ("C",) + spatial_names if layout == "channels_first" else spatial_names + ("C",)
    return "(" + ", ".join(("N",) + axes if batched else axes) + ")"


def reading(x_shape, weight_shape, layout):
    """(spatial axes, batched) for x, decided as torch decides, or a OneByOneError.

    >>> reading((5, 8, 8), (4, 5, 1, 1), "channels_first")   # one (C, H, W) image
    (2, False)
    >>> reading((5, 8, 8), (4, 8), "channels_first")         # a plain matrix: (N, C, L)
    (1, True)
    """
    rank = len(x_shape)
    kernel_axes = len(weight_shape) - 2
    if 1 <= kernel_axes <= 3:
        if rank in (kernel_axes + 1, kernel_axes + 2):
            return kernel_axes, rank == kernel_axes + 2
        raise OneByOneError(
            f"weight {tuple(weight_shape)} has {kernel_axes} kernel {'axis' if kernel_axes == 1 else 'axes'}, so x must be "
            f"{form(kernel_axes, True, layout)} or one unbatched {form(kernel_axes, False, layout)}, "
            f"as for torch's conv{kernel_axes}d; got shape {tuple(x_shape)}")
    if kernel_axes > 3:
        raise OneByOneError(
            "weight must be (Cout, Cin/groups) or that followed by 1-3 kernel axes of size 1; "
            f"got shape {tuple(weight_shape)}")
    if rank not in (3, 4, 5):
        message = ("x must have rank 3, 4 or 5 (batch, channels and 1-3 spatial axes); "
                   f"got rank {rank} with shape {tuple(x_shape)}")
        if rank == 2 and len(weight_shape) == 2:
            message += f"; as one unbatched {form(1, False, layout)} signal, " + _pass_weight(1, weight_shape)
        raise OneByOneError(message)
    return rank - 2, True


def channels_and_sizes(x_shape, batched, layout):
    """x's channel count and its spatial sizes under this reading."""
    sample = tuple(x_shape[1:] if batched else x_shape)  # (C, *S) or (*S, C)
    if layout == "channels_last":
        return sample[-1], sample[:-1]
    return sample[0], sample[1:]


def channel_mismatch(x_shape, weight_shape, groups, cin, batched, layout):
    """The message for x's channels not matching the weight's, naming the unbatched reading
    of a plain-matrix call when that reading would fit."""
    expected = weight_shape[1] * groups
    message = (f"x has {cin} channels but weight {tuple(weight_shape)} with groups={groups} "
               f"expects {expected} input channels")
    spatial = len(x_shape) - 1
    if not batched or len(weight_shape) != 2 or spatial > 3:
        return message
    cin_one, _ = channels_and_sizes(x_shape, False, layout)
    if cin_one != expected:  # neither reading fits: the plain message says it
        return message
    return (f"x {tuple(x_shape)} read as {form(spatial - 1, True, layout)} has {cin} channels "
            f"but weight {tuple(weight_shape)} with groups={groups} expects {expected}; "
            f"as one {form(spatial, False, layout)} {_WHAT[spatial]}, " + _pass_weight(spatial, weight_shape))


def _pass_weight(spatial, weight_shape):
    ones = ", 1" * spatial
    return (f"pass the weight as (Cout, Cin/groups{ones}), e.g. "
            f"weight.reshape({weight_shape[0]}, {weight_shape[1]}{ones})")
