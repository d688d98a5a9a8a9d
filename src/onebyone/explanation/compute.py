"""The facts of one layer by formula: shapes, parameters, cost, matrix sizes, the whole-image
matrix and the roofline.

Nothing here allocates a tensor of the layer's size, so a 224x224x1024 layer explains in
microseconds; tests check every formula against torch and against matrices built for small shapes.

A general k x k convolution is one blocked Toeplitz matrix on the flattened image. The 1x1 case
is the special one: each block reads exactly one input pixel per output pixel, so with stride 1
and no padding every block is w[o, c] * I and the whole matrix is kron(W, I_P).

Peaks are either measured here (an SGEMM and a large copy, medians of a few runs, about a
second) or assumed, and the facts always say which, so nobody mistakes a guess for a measurement.
"""
from itertools import product
from math import prod

import numpy as np

from .._axes import names
from ..errors import OneByOneError
from . import facts, fmt


FLOAT32 = 4


def layer(batch, in_channels, out_channels, input_size, kernel, stride, padding, groups, bias):
    """Check a layer's configuration and work out its output size."""
    dims = len(input_size)
    if in_channels % groups or out_channels % groups:
        raise OneByOneError(
            f"groups={groups} must divide both the input channels ({in_channels}) and the "
            f"filters ({out_channels}); got remainders {in_channels % groups} and "
            f"{out_channels % groups}"
        )
    padded = tuple(n + 2 * p for n, p in zip(input_size, padding))
    if any(k > n for k, n in zip(kernel, padded)):
        raise OneByOneError(
            f"kernel {fmt.x(kernel)} is larger than the input {fmt.x(input_size)} padded by "
            f"{fmt.x(padding)} ({fmt.x(padded)}); expected a kernel that fits, or more --padding"
        )
    output_size = tuple((n - k) // s + 1 for n, k, s in zip(padded, kernel, stride))
    _check_sizes(batch, in_channels, out_channels, input_size, output_size, kernel, groups)
    return facts.Layer(
        dims=dims, batch=batch, in_channels=in_channels, out_channels=out_channels,
        input_size=tuple(input_size), kernel=tuple(kernel), stride=tuple(stride),
        padding=tuple(padding), groups=groups, bias=bool(bias), output_size=output_size,
        input_shape_nchw=(batch, in_channels) + tuple(input_size),
        output_shape_nchw=(batch, out_channels) + output_size,
    )


MAX_ELEMENTS = 2**63 - 1  # torch counts a tensor's elements in an int64
MAX_KERNEL = 2**16  # per axis; the tap counts loop over the kernel, never over the image


def _check_sizes(batch, cin, cout, input_size, output_size, kernel, groups):
    """Absurd sizes get a clear error at once instead of facts about no possible tensor."""
    if max(kernel) > MAX_KERNEL:
        raise OneByOneError(f"expected a kernel of at most {MAX_KERNEL:,} per axis; got "
                            f"{fmt.x(kernel)}")
    for what, shape in (("input", (batch, cin) + tuple(input_size)),
                        ("output", (batch, cout) + tuple(output_size)),
                        ("weight", (cout, cin // groups) + tuple(kernel))):
        if prod(shape) > MAX_ELEMENTS:
            raise OneByOneError(
                f"the {what} {shape} would have {prod(shape):.3g} elements; a torch tensor holds "
                f"at most 2**63 - 1 ({MAX_ELEMENTS:.3g}); expected smaller sizes")


def weights(L):
    cin_g, k = L.in_channels // L.groups, prod(L.kernel)
    kernels = L.out_channels * cin_g
    without = kernels * k
    return facts.Weights(
        pytorch_shape=(L.out_channels, cin_g) + L.kernel,
        keras_shape=L.kernel + (cin_g, L.out_channels),
        filters=L.out_channels,
        filter_shape=L.kernel + (cin_g,),
        kernels=kernels,
        kernel_shape=L.kernel,
        # A 3-D kernel kd x kh x kw is kd slices of kh x kw; a 1-D kernel has none.
        slices_2d=None if L.dims == 1 else kernels * prod(L.kernel[:-2]),
        params_without_bias=without,
        bias_params=L.out_channels,
        params_with_bias=without + L.out_channels,
        params=without + (L.out_channels if L.bias else 0),
    )


def cost(L):
    outputs = prod(L.output_shape_nchw)
    macs = outputs * (L.in_channels // L.groups) * prod(L.kernel)  # one dot product per output
    return facts.Cost(output_elements=outputs, macs=macs, flops=2 * macs,
                      bias_adds=outputs if L.bias else 0)


def matrix_view(L):
    g, k = L.groups, prod(L.kernel)
    cin_g, cout_g = L.in_channels // g, L.out_channels // g
    pixels = prod(L.output_size)
    rows = L.batch * pixels
    depth = cin_g * k  # one row of patches: Cin/groups channels times the kernel's taps
    per_group = " per group" if g > 1 else ""
    last = facts.Product(
        left=(rows, depth), right=(depth, cout_g), result=(rows, cout_g), count=g,
        meaning=f"one row per output pixel (N*{names(L.dims, '*')}), one column per filter"
                f"{per_group}",
    )
    first = facts.Product(
        left=(cout_g, depth), right=(depth, pixels), result=(cout_g, pixels), count=L.batch * g,
        meaning=f"weight times each image's pixels as columns, once per image{per_group}",
    )
    identity = k == 1 and all(s == 1 for s in L.stride) and not any(L.padding)
    return facts.MatrixView(
        channels_last=last, channels_first=first, im2col_shape=(rows, depth),
        im2col_elements=rows * depth * g, input_elements=prod(L.input_shape_nchw),
        im2col_is_identity=identity,
        im2col_expansion=rows * depth * g / prod(L.input_shape_nchw),
    )


def whole_image(L):
    p_in, p_out = prod(L.input_size), prod(L.output_size)
    cin_g = L.in_channels // L.groups
    shape = (L.out_channels * p_out, L.in_channels * p_in)
    entries = shape[0] * shape[1]
    # Each (filter, its input channel) block holds one entry per (output pixel, tap on real input).
    nonzeros = L.out_channels * cin_g * taps_on_input(L)
    plain = prod(L.kernel) == 1 and all(s == 1 for s in L.stride) and not any(L.padding)
    if plain:
        structure = "kron(W, I_P): every block is a multiple of the identity"
    elif prod(L.kernel) == 1:
        structure = "W kron S: every block is a multiple of one pixel-selection matrix S"
    else:
        depth = {1: "", 2: "doubly ", 3: "triply "}[L.dims]
        structure = f"{depth}blocked Toeplitz: every block is a convolution by one kernel"
    return facts.WholeImage(
        structure=structure, shape=shape, entries=entries, nonzeros=nonzeros,
        density=nonzeros / entries, sparsity=1 - nonzeros / entries,
        entries_per_nonzero=entries / nonzeros if nonzeros else None, block_shape=(p_out, p_in),
        block_grid=(L.output_size[0], L.input_size[0]),
        sub_block_shape=(prod(L.output_size[1:]), prod(L.input_size[1:])),
        nonzero_sub_blocks=taps_on_input(L, axes=slice(0, 1)),
        dense_bytes=entries * FLOAT32,
        gemm_weight_bytes=L.out_channels * cin_g * prod(L.kernel) * FLOAT32,
    )


# The whole-image matrix, and how many input pixels a layer reads.

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


# Bytes moved, arithmetic intensity, and which roof (memory or compute) limits the layer.

# Assumed peaks when not measured: round numbers for one or two cores of a current server CPU.
ASSUMED_FLOPS = 100e9  # FLOP/s, float32 GEMM
ASSUMED_BANDWIDTH = 10e9  # bytes/s, main memory


def roofline(layer, cost, peaks=None):
    """Roofline facts for `layer`; `peaks` is (flop/s, bytes/s, source) or None for assumed."""
    measured = peaks is not None
    if peaks is None:
        peaks = (ASSUMED_FLOPS, ASSUMED_BANDWIDTH,
                 "assumed: 100 GFLOP/s and 10 GB/s, not measured (measure=True / --measure)")
    peak_flops, bandwidth, source = peaks
    cin_g = layer.in_channels // layer.groups
    elements = (
        prod(layer.input_shape_nchw)
        + layer.out_channels * cin_g * prod(layer.kernel)
        + (layer.out_channels if layer.bias else 0)
        + prod(layer.output_shape_nchw)
    )
    moved = elements * FLOAT32
    intensity = cost.flops / moved
    balance = peak_flops / bandwidth
    return facts.Roofline(
        dtype_bytes=FLOAT32, bytes_moved=moved, intensity=intensity, peak_flops=peak_flops,
        peak_bandwidth=bandwidth, peaks_source=source, peaks_measured=measured, balance=balance,
        bound="memory" if intensity < balance else "compute",
        min_time_s=max(cost.flops / peak_flops, moved / bandwidth),
    )


def measure_peaks(repeats=5):
    """(FLOP/s of a 1024^3 float32 matmul, bytes/s of a 64 MB copy, source), medians."""
    import torch

    from ..timing import interleaved

    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    src, dst = torch.empty(16 * 2**20), torch.empty(16 * 2**20)
    # One warm-up call each: first touches of memory and thread pools are not the steady state.
    t = interleaved({"matmul": lambda: torch.mm(a, b), "copy": lambda: dst.copy_(src)},
                    warmup=1, min_rounds=repeats, max_rounds=repeats, budget_s=0.0)
    flops = 2 * 1024**3 / t["matmul"]
    bandwidth = 2 * src.numel() * 4 / t["copy"]  # read + write
    source = (f"measured here: float32 1024^3 matmul {flops / 1e9:.1f} GFLOP/s, 64 MB copy "
              f"{bandwidth / 1e9:.1f} GB/s, torch {torch.get_num_threads()} threads, medians "
              f"of {repeats}")
    return flops, bandwidth, source
