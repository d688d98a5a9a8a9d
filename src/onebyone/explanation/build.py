"""Compute the facts of one layer: shapes, parameters, cost and matrix sizes, by formula.

Nothing here allocates a tensor of the layer's size, so a 224x224x1024 layer explains in
microseconds; tests check every formula against torch and against matrices built for small shapes.
"""
from math import prod

from ..errors import OneByOneError
from . import facts, fmt, general

FLOAT32 = 4
ROWS = {1: "N*L", 2: "N*H*W", 3: "N*D*H*W"}  # what the rows of the channels-last product count


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
        meaning=f"one row per output pixel ({ROWS[L.dims]}), one column per filter{per_group}",
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
    nonzeros = L.out_channels * cin_g * general.taps_on_input(L)
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
        nonzero_sub_blocks=general.taps_on_input(L, axes=slice(0, 1)),
        dense_bytes=entries * FLOAT32,
        gemm_weight_bytes=L.out_channels * cin_g * prod(L.kernel) * FLOAT32,
    )
