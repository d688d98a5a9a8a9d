"""conv1x1(): validate a call once, plan it once, then run the plan.

A plan is a small function specialised to one call signature (kinds, shapes, strides, dtypes,
devices, options, whether gradients are needed): validation and the dispatcher's choice cost
~20 us of Python, as much as a small conv, so they run on the first call of a signature only.
"""
from . import _arrays
from ._validate import LAYOUTS, METHODS, Call, validate  # noqa: F401  (re-exported)
from .formulations import FORMULATIONS


def conv1x1(x, weight, bias=None, *, stride=1, padding=0, groups=1,
            layout="channels_first", method="auto"):
    """The 1x1 convolution: at every pixel, the channel vector times a matrix, plus a bias.

    x is a NumPy array or a torch tensor with 1, 2 or 3 spatial axes: (N, C, L), (N, C, H, W)
    or (N, C, D, H, W), or with ``layout="channels_last"`` the (N, ..., C) forms. A torch tensor
    in channels_last memory format gives one back in that format. weight is (Cout, Cin/groups)
    or PyTorch's (Cout, Cin/groups, 1, ..., 1); bias is (Cout,). stride, padding and groups
    mean what they mean for torch.nn.functional.conv2d. The result is of x's kind, dtype and
    device. ``method`` picks a formulation: "loop", "einsum", "gemm", "kron", "torch" or "auto".

    >>> import numpy as np
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2)        # N=1, Cin=2, 2x2 pixels
    >>> w = np.array([[1.0, 10.0]])                   # Cout=1: out = 1*ch0 + 10*ch1
    >>> conv1x1(x, w)[0, 0]
    array([[40., 51.],
           [62., 73.]])
    >>> all(np.allclose(conv1x1(x, w, method=m), conv1x1(x, w, method="loop"))
    ...     for m in ("einsum", "gemm", "kron", "torch"))
    True
    """
    return plan(x, weight, bias, stride, padding, groups, layout, method)(x, weight, bias)


_PLANS = {}


def plan(x, weight, bias=None, stride=1, padding=0, groups=1, layout="channels_first", method="auto"):
    """The function that computes conv1x1 for calls like this one: f(x, weight, bias) -> y."""
    grad = _needs_grad(x, weight, bias)
    compiling = _compiling(x)
    try:
        sig = (type(x), x.shape, _strides(x), x.dtype, getattr(x, "device", None), type(weight),
               weight.shape, weight.dtype, getattr(weight, "device", None), type(bias),
               None if bias is None else (bias.shape, bias.dtype, getattr(bias, "device", None)),
               stride, padding, groups, layout, method, grad)
        found = None if compiling else _PLANS.get(sig)
    except (AttributeError, TypeError):  # not arrays, or an unhashable option: no memo
        sig = found = None
    if found is not None:
        return found
    call = validate(x, weight, bias, stride, padding, groups, layout, method)
    x_cf = _arrays.moveaxis(x, -1, 1) if layout == "channels_last" else x
    w = weight.reshape(call.out_channels, call.in_channels // call.groups)
    new = _make_plan(call, x_cf, w, bias, layout, method, grad)
    if sig is not None and not compiling:  # under torch.compile, the checks become guards
        if len(_PLANS) > 4096:
            _PLANS.clear()
        _PLANS[sig] = new
    return new


def _make_plan(call, x_cf, w, bias, layout, method, grad):
    shape = (call.out_channels, call.in_channels // call.groups)
    if method == "auto":
        from .dispatch import runner

        compute = runner(call, x_cf, grad, w, bias)
    else:
        formulation = FORMULATIONS[method]

        def compute(x, w, bias):
            y = formulation(x, w, bias, call.stride, call.padding, call.groups)
            return _arrays.keep_memory_format(x, y)

    if layout == "channels_first":
        return lambda x, weight, bias: compute(x, weight.reshape(shape), bias)

    def channels_last(x, weight, bias):
        y = compute(_arrays.moveaxis(x, -1, 1), weight.reshape(shape), bias)
        return _arrays.moveaxis(y, 1, -1)
    return channels_last


def _strides(x):
    return x.stride() if _arrays.is_tensor(x) else x.strides


def _compiling(x):
    if not _arrays.is_tensor(x):
        return False
    import torch

    return torch.compiler.is_compiling()


def _needs_grad(x, weight, bias):
    if not _arrays.is_tensor(x):
        return False
    import torch

    return torch.is_grad_enabled() and (
        x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad))
