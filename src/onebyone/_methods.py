"""What each `method` name runs: one function per name, whoever asked for it.

`conv1x1(method=...)` and method="auto" (which picks one of these names) both come here, so a
name means the same code everywhere:

  "gemm"   the torch GEMM path (gemm_torch.py) where it applies; the generic
           formulations.gemm (the spec) everywhere else, NumPy included;
  "torch"  torch's own F.conv1d/2d/3d (NumPy inputs go through formulations.conv);
  others   the formulation of that name, as written in formulations.py.

A runner is f(x, weight, bias) for calls of one signature, x channels-first, weight either
(Cout, Cin/groups) or the full (Cout, Cin/groups, 1, ...).
"""
from . import _arrays
from ._axes import conv_function
from .formulations import FORMULATIONS


def runner(method, call, x, grad):
    """The function f(x, weight, bias) that `method` runs for calls like this one.

    >>> import numpy as np
    >>> from onebyone._validate import validate
    >>> x, w = np.ones((1, 2, 3, 3)), np.ones((4, 2))
    >>> run = runner("gemm", validate(x, w, None, 1, 0, 1), x, grad=False)
    >>> run(x, w, None).shape
    (1, 4, 3, 3)
    """
    if _arrays.is_tensor(x):
        if method == "torch":
            return _torch_conv(call, x)
        if method == "gemm" and fast_gemm_applies(call, x):
            from .gemm_torch import gemm_for

            return _any_weight_shape(call, gemm_for(x, call.stride, grad))
    formulation = FORMULATIONS[method]

    def run(x, w, bias):
        y = formulation(x, w, bias, call.stride, call.padding, call.groups)
        return _arrays.keep_memory_format(x, y)
    return _any_weight_shape(call, run)


def _torch_conv(call, x):
    conv = conv_function(call.spatial)
    kernel = (call.out_channels, call.in_channels // call.groups) + (1,) * call.spatial
    args = (call.stride, call.padding, 1, call.groups)

    def run(x, w, bias):
        return conv(x, w if w.ndim == len(kernel) else w.reshape(kernel), bias, *args)
    if _arrays.channels_last_in_memory(x) and call.spatial == 3:  # conv3d drops channels_last_3d
        return lambda x, w, bias: _arrays.keep_memory_format(x, run(x, w, bias))
    return run


def _any_weight_shape(call, f):
    """f(x, matrix, bias) made to take the weight in any accepted shape."""
    shape = (call.out_channels, call.in_channels // call.groups)
    return lambda x, w, bias: f(x, w if w.ndim == 2 else w.reshape(shape), bias)


def fast_gemm_applies(call, x):
    """Whether method "gemm" runs the torch GEMM path for this call (a torch tensor it fits)."""
    if not _arrays.is_tensor(x):
        return False
    from .gemm_torch import applies  # imports torch: only once a tensor is in play

    return applies(call, x)
