"""A general k x k convolution as one matrix: the blocked Toeplitz matrix, and its size.

The 1x1 case is the special one: each block reads exactly one input pixel per output pixel, so
with stride 1 and no padding every block is w[o, c] * I and the whole matrix is kron(W, I_P).
"""
from itertools import product
from math import prod

import numpy as np


def _pairs(n, k, s, p):
    """(output position, tap) pairs along one axis whose tap lands on a real input position."""
    out = (n + 2 * p - k) // s + 1
    return [(i, t, i * s + t - p) for i in range(out) for t in range(k) if 0 <= i * s + t - p < n]


def _taps_axis(n, k, s, p):
    """len(_pairs(n, k, s, p)) by arithmetic: O(k), never O(n), so absurd sizes stay instant."""
    last = (n + 2 * p - k) // s  # the last output position
    total = 0
    for t in range(k):  # output i reads input i*s + t - p: real when 0 <= i*s + t - p <= n - 1
        first, stop = max(0, -((t - p) // s)), min(last, (n - 1 + p - t) // s)
        total += max(0, stop - first + 1)
    return total


def _read_axis(n, k, s, p):
    """How many input positions along one axis some (output, tap) pair reads.

    Windows of k taps start every s positions: when k <= s they never overlap, so each real
    tap reads its own position; when k > s they overlap into one run from the first window's
    start to the last window's end, clipped to the real positions.
    """
    if k <= s:
        return _taps_axis(n, k, s, p)
    last = (n + 2 * p - k) // s
    return max(0, min(n - 1, last * s + k - 1 - p) - max(0, -p) + 1)


def taps_on_input(layer, axes=slice(None)):
    """How many (output pixel, kernel tap) pairs read a real (not padded) input pixel.

    The axes are independent, so the count is a product of per-axis counts; it is the number
    of non-zeros in each block of the whole-image matrix. Over the first axis alone it is the
    number of non-zero sub-blocks (output row, input row) in each block.
    """
    sizes = zip(layer.input_size, layer.kernel, layer.stride, layer.padding)
    return prod(_taps_axis(n, k, s, p) for n, k, s, p in list(sizes)[axes])


def pixels_read(layer):
    """How many input pixels (of the unpadded grid) the layer reads at all; the rest it skips.

    >>> from onebyone.explanation import explain
    >>> pixels_read(explain("7x7x16", filters=8, stride=2, padding=1).layer)  # of 49
    9
    """
    sizes = zip(layer.input_size, layer.kernel, layer.stride, layer.padding)
    return prod(_read_axis(n, k, s, p) for n, k, s, p in sizes)


def toeplitz_matrix(weight, input_size, stride=1, padding=0, groups=1):
    """The (Cout*P_out, Cin*P_in) sparse matrix of a convolution on one flattened image.

    Row o*P_out + p_out, column c*P_in + p_in holds weight[o, c mod Cin/groups, tap] when
    output pixel p_out reads input pixel p_in through that tap. Padding becomes missing
    columns (the zeros it adds contribute nothing), so the matrix acts on the unpadded image.

    >>> m = toeplitz_matrix(np.array([[[1.0, 2.0]]]), input_size=(3,))   # Conv1d 1 -> 1, k=2
    >>> m.toarray()
    array([[1., 2., 0.],
           [0., 1., 2.]])
    """
    from scipy import sparse

    weight = np.asarray(weight)
    cout, cin_g, *kernel = weight.shape
    dims = len(input_size)
    stride = (stride,) * dims if isinstance(stride, int) else tuple(stride)
    padding = (padding,) * dims if isinstance(padding, int) else tuple(padding)
    axes = [_pairs(n, k, s, p) for n, k, s, p in zip(input_size, kernel, stride, padding)]
    out_size = [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(input_size, kernel, stride, padding)]
    p_out, p_in = prod(out_size), prod(input_size)
    # Combine the per-axis pairs into (flat output pixel, tap tuple, flat input pixel) triples.
    pix_out, taps, pix_in = [], [], []
    for combo in product(*axes):
        pix_out.append(np.ravel_multi_index([c[0] for c in combo], out_size))
        taps.append(tuple(c[1] for c in combo))
        pix_in.append(np.ravel_multi_index([c[2] for c in combo], input_size))
    rows, cols, vals = [], [], []
    cout_g = cout // groups
    for o in range(cout):
        for c in range(cin_g):
            channel = (o // cout_g) * cin_g + c  # the input channel this filter slice reads
            rows.extend(o * p_out + q for q in pix_out)
            cols.extend(channel * p_in + q for q in pix_in)
            vals.extend(weight[(o, c) + t] for t in taps)
    shape = (cout * p_out, cout // cout_g * cin_g * p_in)
    return sparse.csr_matrix((vals, (rows, cols)), shape=shape, dtype=weight.dtype)
