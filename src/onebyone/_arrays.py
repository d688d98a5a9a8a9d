"""The few places where NumPy and torch spell the same thing differently.

torch is imported only when a tensor is already in play, so NumPy users and
`import onebyone` do not pay for it.
"""
import sys

import numpy as np


def is_tensor(a) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(a, torch.Tensor)


def torch_of(a):
    """The torch module when `a` is a tensor, else None (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch if torch is not None and isinstance(a, torch.Tensor) else None


def kind_name(a) -> str:
    if is_tensor(a):
        return "torch.Tensor"
    if isinstance(a, np.ndarray):
        return "numpy.ndarray"
    return type(a).__name__


def stack(arrays, axis):
    if is_tensor(arrays[0]):
        import torch

        return torch.stack(arrays, dim=axis)
    return np.stack(arrays, axis=axis)


def moveaxis(a, source, destination):
    return a.movedim(source, destination) if is_tensor(a) else np.moveaxis(a, source, destination)


def pad_spatial(x, padding):
    """Zero-pad every spatial axis of a channels-first x by padding[i] on both sides."""
    if not any(padding):
        return x
    if is_tensor(x):
        import torch.nn.functional as F

        # F.pad lists the last axis first: (left_W, right_W, left_H, right_H, ...).
        return F.pad(x, [p for p in reversed(padding) for _ in (0, 1)])
    return np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])


def subsample(x, stride):
    """Keep every stride[i]-th position of each spatial axis (a view, no copy)."""
    if all(s == 1 for s in stride):
        return x
    return x[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)]


def channels_last_in_memory(x) -> bool:
    """True when the channel axis (1) of a channels-first view is the fastest-moving one."""
    if x.ndim < 3 or x.shape[1] == 1:
        return False
    strides = x.stride() if is_tensor(x) else x.strides
    return strides[1] == min(strides[1:]) and strides[1] < strides[-1]


def to_torch(a):
    import torch

    if is_tensor(a):
        return a
    if any(s < 0 for s in a.strides):  # torch.from_numpy cannot share negative strides
        a = np.ascontiguousarray(a)
    return torch.from_numpy(a)


def keep_memory_format(x, y):
    """y in channels_last memory when torch tensor x is (torch's conv3d, for one, drops it)."""
    if not is_tensor(x) or not channels_last_in_memory(x) or channels_last_in_memory(y):
        return y
    import torch

    fmt = {4: torch.channels_last, 5: torch.channels_last_3d}.get(y.ndim)
    return y if fmt is None else y.contiguous(memory_format=fmt)
