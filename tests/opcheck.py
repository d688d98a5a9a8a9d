"""check_op: the one helper every conv1x1 test goes through.

It runs onebyone.conv1x1 and compares against torch.nn.functional.conv*d computed in float64,
checking kind, shape, dtype, device, memory format and values (and gradients on request).
"""
import numpy as np
import torch
import torch.nn.functional as F

import onebyone

# Absolute and relative tolerance per dtype, against a float64 torch reference.
TOLERANCES = {
    # Exact maths in double: differences are summation order only, ~1e-15 per term.
    torch.float64: dict(atol=1e-10, rtol=1e-10),
    # float32 sums of up to ~100 terms of O(1) values: a few ulps of 1e-7 each.
    torch.float32: dict(atol=1e-4, rtol=1e-4),
}


def as_torch64(a):
    if a is None:
        return None
    t = torch.from_numpy(np.ascontiguousarray(a)) if isinstance(a, np.ndarray) else a.detach()
    return t.to(torch.float64)


def unbatched(x, weight):
    """Whether torch's conv reads x as one sample: the weight carries kernel axes and x has
    no batch axis (torch's rule; a plain (Cout, Cin) matrix always means a batch)."""
    return weight.ndim > 2 and x.ndim == weight.ndim - 1


def torch_conv(x, weight, bias, stride, padding, groups, layout):
    """torch's own conv on x in either layout, batched or one unbatched sample as torch reads it."""
    lifted = unbatched(x, weight)
    channel_axis = 0 if lifted else 1
    if layout == "channels_last":
        x = x.movedim(-1, channel_axis)
    spatial = x.ndim - 1 - channel_axis
    w = weight.reshape(weight.shape[0], weight.shape[1], *([1] * spatial))
    conv = (F.conv1d, F.conv2d, F.conv3d)[spatial - 1]
    y = conv(x, w, bias, stride, padding, 1, groups)  # torch itself handles the unbatched input
    return y.movedim(channel_axis, -1) if layout == "channels_last" else y


def reference(x, weight, bias, stride, padding, groups, layout):
    """torch's conv in float64 on a channels-first copy: the independent oracle."""
    return torch_conv(as_torch64(x), as_torch64(weight), as_torch64(bias), stride, padding, groups, layout)


def _dtype(a):
    return a.dtype if isinstance(a, torch.Tensor) else torch.from_numpy(np.zeros(0, a.dtype)).dtype


def _channels_last(t):
    fmt = {4: torch.channels_last, 5: torch.channels_last_3d}.get(t.ndim)
    return fmt is not None and t.is_contiguous(memory_format=fmt) and not t.is_contiguous()


def check_op(x, weight, bias=None, *, stride=1, padding=0, groups=1,
             layout="channels_first", method="auto", grad=False):
    """Assert conv1x1(...) matches torch's conv in everything a user can observe."""
    y = onebyone.conv1x1(x, weight, bias, stride=stride, padding=padding, groups=groups,
                         layout=layout, method=method)
    expected = reference(x, weight, bias, stride, padding, groups, layout)
    assert type(y) is type(x)
    assert tuple(y.shape) == tuple(expected.shape)
    assert y.dtype == x.dtype
    if isinstance(x, torch.Tensor):
        assert y.device == x.device
        # Memory format is a batched tensor's notion (torch gives unbatched results contiguous).
        if layout == "channels_first" and _channels_last(x) and not unbatched(x, weight):
            # A result with one pixel (or one channel) is contiguous in both formats.
            fmt = {4: torch.channels_last, 5: torch.channels_last_3d}[y.ndim]
            assert y.is_contiguous(memory_format=fmt) or y.shape[1] == 1, "channels_last input gave another format"
    torch.testing.assert_close(as_torch64(y), expected, **TOLERANCES[_dtype(x)])
    if grad:
        _check_grads(x, weight, bias, stride, padding, groups, layout, method)
    return y


def _check_grads(x, weight, bias, stride, padding, groups, layout, method):
    leaves = [t.detach().clone().requires_grad_(True) if t is not None else None
              for t in (x, weight, bias)]
    ref_leaves = [None if t is None else t.detach().clone().requires_grad_(True) for t in leaves]
    y = onebyone.conv1x1(*leaves, stride=stride, padding=padding, groups=groups,
                         layout=layout, method=method)
    g = torch.randn_like(y)
    y.backward(g)
    torch_conv(*ref_leaves, stride, padding, groups, layout).backward(g)
    tol = TOLERANCES[x.dtype]
    for mine, theirs in zip(leaves, ref_leaves):
        if mine is not None:
            torch.testing.assert_close(mine.grad, theirs.grad, **tol)
