"""Weight layouts: PyTorch (O, I, 1, 1) <-> Keras/TF (1, 1, I, O) <-> matrix (I, O).

The same numbers, three conventions. The matrix form (I, O) is the one that multiplies a
channels-last pixel row: y = x @ to_matrix(w). Works on NumPy arrays and torch tensors.

>>> import numpy as np
>>> w = np.arange(6.0).reshape(3, 2, 1, 1)           # PyTorch: 3 filters over 2 channels
>>> to_keras(w).shape, to_matrix(w).shape
((1, 1, 2, 3), (2, 3))
>>> np.array_equal(from_keras(to_keras(w)), w) and np.array_equal(from_matrix(to_matrix(w)), w)
True
"""
from . import _arrays
from .errors import OneByOneError


def _permute(a, axes):
    return a.permute(*axes) if _arrays.is_tensor(a) else a.transpose(axes)


def _need_rank(a, low, high, what):
    if not hasattr(a, "ndim") or not low <= a.ndim <= high:
        got = f"shape {tuple(a.shape)}" if hasattr(a, "shape") else type(a).__name__
        raise OneByOneError(f"expected {what}; got {got}")


def to_keras(weight):
    """PyTorch (O, I, *k) -> Keras (*k, I, O), for any kernel size (1x1 included)."""
    _need_rank(weight, 3, 5, "a PyTorch conv weight (O, I, k...) with 1-3 kernel axes")
    spatial = weight.ndim - 2
    return _permute(weight, tuple(range(2, 2 + spatial)) + (1, 0))


def from_keras(kernel):
    """Keras (*k, I, O) -> PyTorch (O, I, *k)."""
    _need_rank(kernel, 3, 5, "a Keras conv kernel (k..., I, O) with 1-3 kernel axes")
    spatial = kernel.ndim - 2
    return _permute(kernel, (spatial + 1, spatial) + tuple(range(spatial)))


def to_matrix(weight):
    """PyTorch (O, I) or (O, I, 1, ..., 1) -> the (I, O) matrix."""
    _need_rank(weight, 2, 5, "a PyTorch 1x1 conv weight (O, I) or (O, I, 1, ...)")
    if any(k != 1 for k in weight.shape[2:]):
        size = "x".join(map(str, weight.shape[2:]))
        raise OneByOneError(f"expected a 1x1 kernel; got a {size} kernel in weight {tuple(weight.shape)}")
    return _permute(weight.reshape(weight.shape[0], weight.shape[1]), (1, 0))


def from_matrix(matrix, dims=2):
    """The (I, O) matrix -> PyTorch (O, I, 1, ..., 1) with `dims` kernel axes."""
    _need_rank(matrix, 2, 2, "an (I, O) matrix")
    if dims not in (1, 2, 3):
        raise OneByOneError(f"dims must be 1, 2 or 3; got {dims!r}")
    t = _permute(matrix, (1, 0))
    return t.reshape(tuple(t.shape) + (1,) * dims)
