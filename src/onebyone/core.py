"""conv1x1(): validate a call once, plan it once, then run the plan; tune() and forget_plans().

A plan is a small function specialised to one call signature (kinds, shapes, strides, dtypes,
devices, options, whether gradients are needed): validation and the dispatcher's choice cost
~20 us of Python, as much as a small conv, so they run on the first call of a signature only.

The op flows one way: core asks dispatch which method auto runs, and _methods what a method
runs; neither of them imports core.
"""
from . import _arrays, _methods, dispatch
from ._validate import validate
from .errors import OneByOneError


def conv1x1(x, weight, bias=None, *, stride=1, padding=0, groups=1,
            layout="channels_first", method="auto"):
    """The 1x1 convolution: at every pixel, the channel vector times a matrix, plus a bias.

    x is a NumPy array or a torch tensor with 1, 2 or 3 spatial axes: (N, C, L), (N, C, H, W)
    or (N, C, D, H, W), or with ``layout="channels_last"`` the (N, ..., C) forms. As in torch,
    a weight with its kernel axes also takes one unbatched sample, (C, H, W) say, and returns
    (Cout, H, W); a plain (Cout, Cin) matrix always reads x as a batch. A torch tensor
    in channels_last memory format gives one back in that format. weight is (Cout, Cin/groups)
    or PyTorch's (Cout, Cin/groups, 1, ..., 1); bias is (Cout,). stride, padding and groups
    mean what they mean for torch.nn.functional.conv2d. The result is of x's kind, dtype and
    device. ``method`` picks a formulation: "loop", "einsum", "gemm", "kron", "torch" or "auto"
    (the default: "torch" or "gemm", whichever is fastest for this shape here). On CPU float
    tensors "gemm" is the torch GEMM path with its own backward; elsewhere the plain formulation.

    >>> import numpy as np
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2)        # N=1, Cin=2, 2x2 pixels
    >>> w = np.array([[1.0, 10.0]])                   # Cout=1: out = 1*ch0 + 10*ch1
    >>> conv1x1(x, w)[0, 0]
    array([[40., 51.],
           [62., 73.]])
    >>> all(np.allclose(conv1x1(x, w, method=m), conv1x1(x, w, method="loop"))
    ...     for m in ("einsum", "gemm", "kron", "torch"))
    True
    >>> conv1x1(x[0], w.reshape(1, 2, 1, 1)).shape    # one unbatched (C, H, W) image
    (1, 2, 2)
    """
    return plan(x, weight, bias, stride, padding, groups, layout, method)(x, weight, bias)


_PLANS = {}  # call signature -> plan; forget_plans() empties it


def forget_plans():
    """Forget every plan, so the next call of each signature validates and chooses again.

    tune() calls it after a measurement; tests call it to start from nothing.

    >>> import numpy as np
    >>> p = plan(np.ones((1, 2, 2, 2)), np.ones((3, 2)))
    >>> forget_plans()
    >>> plan(np.ones((1, 2, 2, 2)), np.ones((3, 2))) is p
    False
    """
    _PLANS.clear()


def plan(x, weight, bias=None, stride=1, padding=0, groups=1, layout="channels_first", method="auto"):
    """The function that computes conv1x1 for calls like this one: f(x, weight, bias) -> y."""
    torch = _arrays.torch_of(x)
    if torch is not None and torch.compiler.is_compiling():
        # Under torch.compile the checks are traced once into guards; no memo in the graph.
        return _new_plan(x, weight, bias, stride, padding, groups, layout, method,
                         _needs_grad(torch, x, weight, bias))
    # This lookup is the whole per-call cost of conv1x1 (~2 us): keep it flat. Options enter
    # the key type-exactly (True == 1 == 1.0 would otherwise share a plan with the valid 1).
    options = (_exact(stride), _exact(padding), _exact(groups), layout, method)
    try:
        if torch is not None:
            grad = _needs_grad(torch, x, weight, bias)
            sig = (x.shape, x.stride(), x.dtype, x.device, weight.shape, weight.dtype, weight.device,
                   type(weight), None if bias is None else (type(bias), bias.shape, bias.dtype, bias.device),
                   options, grad)
        else:
            grad = False
            sig = (type(x), x.shape, x.strides, x.dtype, type(weight), weight.shape, weight.dtype,
                   None if bias is None else (type(bias), bias.shape, bias.dtype),
                   options)
        found = _PLANS.get(sig)
    except (AttributeError, TypeError):  # not arrays: validate() says what was wrong
        return _new_plan(x, weight, bias, stride, padding, groups, layout, method,
                         torch is not None and _needs_grad(torch, x, weight, bias))
    if found is None:
        found = _new_plan(x, weight, bias, stride, padding, groups, layout, method, grad)
        if len(_PLANS) > 4096:
            _PLANS.clear()
        _PLANS[sig] = found
    return found


def _exact(option):
    return option if type(option) is int else repr(option)


def _new_plan(x, weight, bias, stride, padding, groups, layout, method, grad):
    call = validate(x, weight, bias, stride, padding, groups, layout, method)
    if not call.batched:
        return _unbatched(_new_plan(x[None], weight, bias, stride, padding, groups, layout, method, grad))
    x_cf = _arrays.moveaxis(x, -1, 1) if layout == "channels_last" else x
    w = weight.reshape(call.out_channels, call.in_channels // call.groups)
    return _make_plan(call, x_cf, w, bias, layout, method, grad)


def _unbatched(batched_plan):
    # One sample is a batch of one, as torch's conv computes it: add the axis, drop it after.
    # Its plan is made from the batch-of-one call (dispatch sees (1, C, ...)) and kept under
    # the unbatched signature, so the two readings never share a plan.
    return lambda x, weight, bias: batched_plan(x[None], weight, bias)[0]


def _make_plan(call, x_cf, w, bias, layout, method, grad):
    if method == "auto":
        method = dispatch.choose(call, x_cf, grad, w, bias)
    compute = _methods.runner(method, call, x_cf, grad)  # takes the weight in any accepted shape
    if layout == "channels_first":
        return compute

    def channels_last(x, weight, bias):
        return _arrays.moveaxis(compute(_arrays.moveaxis(x, -1, 1), weight, bias), 1, -1)
    return channels_last


def _needs_grad(torch, x, weight, bias):
    """Whether autograd will record this call (torch inputs only)."""
    # getattr: a NumPy weight beside a tensor x must reach validate() and its clear error.
    return torch.is_grad_enabled() and any(getattr(t, "requires_grad", False) for t in (x, weight, bias))


def tune(x, weight, bias=None, *, stride=1, padding=0, groups=1, backward=False, budget_s=0.3):
    """Time the candidates for this call, cache the winner on disk, and return the timings.

    Later calls with the same key (shapes, memory format, dtype, device, groups, stride,
    padding, forward or forward+backward) run the winner under method="auto". The result is
    {"key": str, "times": {method: median seconds}, "winner": method}.

    >>> import torch, onebyone
    >>> result = onebyone.tune(torch.randn(1, 8, 4, 4), torch.randn(4, 8), budget_s=0.01)
    >>> sorted(result["times"]), result["winner"] in result["times"]
    (['gemm', 'torch'], True)
    """
    call = validate(x, weight, bias, stride, padding, groups)
    if not _arrays.is_tensor(x):
        raise OneByOneError("tune times torch formulations; expected a torch tensor, got a NumPy array")
    if not call.batched:  # conv1x1 runs one sample as a batch of one: time that
        x = x[None]
        call = validate(x, weight, bias, stride, padding, groups)
    w = weight.reshape(call.out_channels, call.in_channels // call.groups)
    result = dispatch.measure(call, x, w, bias, backward, budget_s)
    forget_plans()  # plans made before this choice must be made again
    return result
