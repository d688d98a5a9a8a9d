"""Checking a conv1x1 call: every bad input becomes one OneByOneError saying what was expected."""
from dataclasses import dataclass

import numpy as np

from . import _arrays, _axes
from ._checks import positive_int
from .errors import OneByOneError
from .formulations import FORMULATIONS

LAYOUTS = ("channels_first", "channels_last")
METHODS = ("auto",) + tuple(FORMULATIONS)
_NUMPY_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True)
class Call:
    """A validated conv1x1 call: everything a formulation or the dispatcher needs to know."""

    in_channels: int
    out_channels: int
    spatial: int  # 1, 2 or 3 spatial axes
    stride: tuple
    padding: tuple
    groups: int
    batched: bool = True  # False: one unbatched sample, x without its batch axis (as torch allows)


def validate(x, weight, bias, stride, padding, groups, layout="channels_first", method="auto"):
    """Check a conv1x1 call and return its normalised Call, or raise OneByOneError."""
    if layout not in LAYOUTS:
        raise OneByOneError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}")
    if method not in METHODS:
        raise OneByOneError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    _check_arrays(x, weight, bias)
    if isinstance(x, np.ndarray) and (x.dtype.newbyteorder("=") not in _NUMPY_FLOATS or not x.dtype.isnative
                                      or (method == "kron" and x.dtype == np.float16)):
        allowed = "float32 or float64" if method == "kron" else "float16, float32 or float64"
        raise OneByOneError(f"NumPy x must be native-endian {allowed} for method={method!r}; got {x.dtype.str}")
    spatial, batched = _axes.reading(x.shape, weight.shape, layout)
    cin, sizes = _axes.channels_and_sizes(x.shape, batched, layout)
    if cin == 0 or 0 in tuple(sizes):
        raise OneByOneError(
            f"x must have at least one channel and one position per spatial axis (batch may be 0); "
            f"got shape {tuple(x.shape)}")
    groups = positive_int(groups, "groups")
    cout, cin_g = _weight_matrix_shape(weight, spatial)
    if cout == 0:
        raise OneByOneError(f"weight must have at least one output channel; got shape {tuple(weight.shape)}")
    if cin_g * groups != cin:
        raise OneByOneError(_axes.channel_mismatch(x.shape, weight.shape, groups, cin, batched, layout))
    if cout % groups:
        raise OneByOneError(
            f"groups={groups} must divide the output channels; got {cout} output channels"
        )
    if bias is not None and tuple(bias.shape) != (cout,):
        raise OneByOneError(f"bias must have shape ({cout},); got {tuple(bias.shape)}")
    stride = _per_axis(stride, spatial, "stride", minimum=1)
    padding = _padding(padding, spatial, stride)
    return Call(cin, cout, spatial, stride, padding, groups, batched)


def _check_arrays(x, weight, bias):
    kind = _arrays.kind_name(x)
    if kind not in ("numpy.ndarray", "torch.Tensor"):
        raise OneByOneError(f"x must be a NumPy array or a torch tensor; got {kind}")
    for name, a in (("weight", weight), ("bias", bias)):
        if a is None and name == "bias":
            continue
        if _arrays.kind_name(a) != kind:
            raise OneByOneError(f"x is a {kind}, so {name} must be one too; got {_arrays.kind_name(a)}")
        if a.dtype != x.dtype:
            raise OneByOneError(f"{name} dtype must match x's dtype {x.dtype}; got {a.dtype}")
        if kind == "torch.Tensor" and a.device != x.device:
            raise OneByOneError(f"{name} must be on x's device {x.device}; got {a.device}")
    floating = x.is_floating_point() if kind == "torch.Tensor" else np.issubdtype(x.dtype, np.floating)
    if not floating:
        raise OneByOneError(f"x must have a floating-point dtype; got {x.dtype}")


def _weight_matrix_shape(weight, spatial):
    shape = tuple(weight.shape)
    if len(shape) not in (2, 2 + spatial):
        raise OneByOneError(
            f"weight must be (Cout, Cin/groups) or (Cout, Cin/groups{', 1' * spatial}) for an "
            f"input with {spatial} spatial axes; got shape {shape}"
        )
    kernel = shape[2:]
    if any(k != 1 for k in kernel):
        size = "x".join(map(str, kernel))
        raise OneByOneError(
            f"weight {shape} has a {size} kernel: that is a {size} convolution, not 1x1; "
            f"expected every kernel size to be 1"
        )
    return shape[0], shape[1]


def _per_axis(value, spatial, name, minimum):
    try:
        values = (value,) * spatial if isinstance(value, (int, np.integer)) else tuple(value)
    except TypeError:  # None, a float: not a sequence either
        values = (None,)
    if len(values) != spatial or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum for v in values
    ):
        raise OneByOneError(
            f"{name} must be an integer >= {minimum} or a tuple of {spatial} of them; got {value!r}"
        )
    return tuple(int(v) for v in values)


def _padding(padding, spatial, stride):
    if not isinstance(padding, str):
        return _per_axis(padding, spatial, "padding", minimum=0)
    if padding == "valid":
        return (0,) * spatial
    if padding == "same":  # a 1x1 kernel needs no padding to keep the size, as in torch
        if any(s != 1 for s in stride):
            raise OneByOneError(f"padding='same' needs stride 1, as in torch; got stride {stride}")
        return (0,) * spatial
    raise OneByOneError(f"padding must be 'valid', 'same', or integers >= 0; got {padding!r}")
