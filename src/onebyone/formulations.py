"""Every way to write the 1x1 convolution, each small enough to check by eye.

Each formulation takes a channels-first x of shape (N, Cin, *S), a weight matrix w of
shape (Cout, Cin/groups), an optional bias (Cout,), and stride/padding as tuples with one
entry per spatial axis. It returns (N, Cout, *S') of the same kind (NumPy or torch).

`loop` is the specification; every other formulation is tested against it and torch.
"""
import math

import numpy as np

from . import _arrays
from ._axes import conv_function
from .errors import OneByOneError


def _prepare(x, stride, padding):
    # A 1x1 kernel reads exactly one position, so padding then striding the input is the
    # whole of PyTorch's semantics: padded positions are zeros and produce just the bias.
    return _arrays.subsample(_arrays.pad_spatial(x, padding), stride)


def _add_bias(y, bias):
    if bias is None:
        return y
    return y + bias.reshape((1, -1) + (1,) * (y.ndim - 2))


def loop(x, w, bias, stride, padding, groups):
    """out[n, o, p] = sum_c w[o, c] * x[n, c + g(o) * Cin/groups, p] + bias[o], pixel by pixel."""
    x = _prepare(x, stride, padding)
    n, cin, *spatial = x.shape
    cout, cin_g = w.shape
    cout_g = cout // groups
    flat = x.reshape(n, cin, math.prod(spatial))
    if flat.shape[2] == 0:  # no pixels: nothing to loop over, but the shape must be right
        return einsum(x, w, bias, (1,) * len(spatial), (0,) * len(spatial), groups)
    pixels = []
    for p in range(flat.shape[2]):
        channels = []
        for o in range(cout):
            g = o // cout_g
            xs = flat[:, g * cin_g : (g + 1) * cin_g, p]  # (N, Cin/groups): this pixel, o's group
            channels.append((xs * w[o]).sum(axis=1))  # the dot product over channels
        pixels.append(_arrays.stack(channels, axis=1))  # (N, Cout)
    y = _arrays.stack(pixels, axis=-1).reshape(n, cout, *spatial)
    return _add_bias(y, bias)


def einsum(x, w, bias, stride, padding, groups):
    """One einsum over (batch, group, channel, pixel)."""
    x = _prepare(x, stride, padding)
    n, cin, *spatial = x.shape
    cout, cin_g = w.shape
    xg = x.reshape(n, groups, cin_g, math.prod(spatial))  # (N, G, Cin/G, P)
    wg = w.reshape(groups, cout // groups, cin_g)  # (G, Cout/G, Cin/G)
    lib = _arrays.torch_of(x) or np
    y = lib.einsum("ngcp,goc->ngop", xg, wg).reshape(n, cout, *spatial)
    return _add_bias(y, bias)


def gemm(x, w, bias, stride, padding, groups):
    """One matrix product, in the input's own memory layout; groups as a batched product.

    channels-last:  (N*P, Cin) @ (Cin, Cout) -> (N*P, Cout)
    channels-first: (Cout, Cin) @ (N, Cin, P) -> (N, Cout, P)
    """
    x = _prepare(x, stride, padding)
    n, cin, *spatial = x.shape
    cout, cin_g = w.shape
    cout_g = cout // groups
    num_pixels = math.prod(spatial)
    if _arrays.channels_last_in_memory(x):
        rows = _arrays.moveaxis(x, 1, -1).reshape(n * num_pixels, groups, cin_g)  # (N*P, G, Cin/G)
        rows = _arrays.moveaxis(rows, 1, 0)  # (G, N*P, Cin/G)
        wt = _arrays.moveaxis(w.reshape(groups, cout_g, cin_g), 1, 2)  # (G, Cin/G, Cout/G)
        y = _arrays.moveaxis(rows @ wt, 0, 1)  # (N*P, G, Cout/G)
        y = _arrays.moveaxis(y.reshape(n, *spatial, cout), -1, 1)
    else:
        xg = x.reshape(n, groups, cin_g, num_pixels)  # (N, G, Cin/G, P)
        wg = w.reshape(groups, cout_g, cin_g)  # (G, Cout/G, Cin/G)
        y = (wg @ xg).reshape(n, cout, *spatial)  # (G, Cout/G, Cin/G) @ (N, G, Cin/G, P)
    return _add_bias(y, bias)


def whole_image_matrix(w, num_pixels, groups=1):
    """The (Cout*P, Cin*P) matrix kron(W, I_P) that maps a whole flattened image at once.

    Row o*P + p, column c*P + q holds W[o, c] when p == q and 0 otherwise: each output pixel
    reads only the same input pixel. It is built sparse; only Cout*Cin*P entries are stored.

    >>> import numpy as np
    >>> m = whole_image_matrix(np.array([[1.0, 2.0]]), num_pixels=3)
    >>> m.shape, m.nnz
    ((3, 6), 6)
    >>> m.toarray()
    array([[1., 0., 0., 2., 0., 0.],
           [0., 1., 0., 0., 2., 0.],
           [0., 0., 1., 0., 0., 2.]])
    """
    from scipy import linalg, sparse

    w = np.asarray(w)
    blocks = np.split(w, groups, axis=0)  # groups: block-diagonal (Cout, Cin) weight
    full = linalg.block_diag(*blocks) if groups > 1 else w
    return sparse.kron(full, sparse.identity(num_pixels, dtype=w.dtype, format="csr"), format="csr")


def kron(x, w, bias, stride, padding, groups):
    """The convolution as one sparse matrix acting on each flattened image (computed by SciPy)."""
    if _arrays.is_tensor(x):
        return _kron_torch(x, w, bias, stride, padding, groups)
    x = _prepare(x, stride, padding)
    n, cin, *spatial = x.shape
    cout = w.shape[0]
    num_pixels = math.prod(spatial)
    m = whole_image_matrix(w, num_pixels, groups)  # (Cout*P, Cin*P)
    y = (m @ x.reshape(n, cin * num_pixels).T).T  # each column is one image, flattened
    return _add_bias(np.asarray(y).reshape(n, cout, *spatial).astype(x.dtype, copy=False), bias)


def _kron_torch(x, w, bias, stride, padding, groups):
    import torch

    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, w, bias)):
        raise OneByOneError(
            "method='kron' computes with SciPy and cannot carry gradients; expected tensors "
            "without requires_grad (or torch.no_grad()), got a tensor that requires grad"
        )
    if x.dtype not in (torch.float32, torch.float64):
        raise OneByOneError(f"method='kron' supports float32 and float64; got {x.dtype}")
    to_np = lambda t: None if t is None else t.detach().cpu().numpy()  # noqa: E731
    y = kron(to_np(x), to_np(w), to_np(bias), stride, padding, groups)
    return torch.from_numpy(y).to(x.device)


def conv(x, w, bias, stride, padding, groups):
    """PyTorch's own F.conv1d / conv2d / conv3d with a (Cout, Cin/groups, 1, ...) kernel."""
    as_numpy = not _arrays.is_tensor(x)
    x, w = _arrays.to_torch(x), _arrays.to_torch(w)
    bias = None if bias is None else _arrays.to_torch(bias)
    spatial = x.ndim - 2
    kernel = w.reshape(w.shape + (1,) * spatial)
    fn = conv_function(spatial)
    y = fn(x, kernel, bias, stride, padding, 1, groups)
    return y.numpy() if as_numpy else y


FORMULATIONS = {"loop": loop, "einsum": einsum, "gemm": gemm, "kron": kron, "torch": conv}
