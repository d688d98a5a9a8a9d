"""The explanation's tables as (title, [(label, value), ...]) in plain words, for any renderer.

Text and HTML lay these out differently; the words and numbers are the same in both.
"""
from math import prod

from . import fmt
from .example_rows import example_lines, gemm_lines  # noqa: F401 - renderers read them here


def sections(e):
    """Every table of the explanation, in reading order."""
    return [weights(e), cost(e), matrix(e), whole_image(e), roofline(e)]


def header(L):
    return (f"stride {fmt.x(L.stride)}, padding {fmt.x(L.padding)}, groups {L.groups}, "
            f"bias {'yes' if L.bias else 'no'}; torch shapes {fmt.shape(L.input_shape_nchw)} -> "
            f"{fmt.shape(L.output_shape_nchw)}")


def weights(e):
    w, L = e.weights, e.layer
    k = {1: "k", 2: "kh, kw", 3: "kd, kh, kw"}[L.dims]
    rows = [
        (f"PyTorch (O, I/groups, {k})", fmt.shape(w.pytorch_shape)),
        (f"Keras ({k}, I/groups, O)", fmt.shape(w.keras_shape)),
        ("filters", f"{w.filters:,}, each {fmt.x(w.filter_shape)} ({k}, channels)"),
        ("kernels", f"{w.kernels:,} of {fmt.x(w.kernel_shape)} (filters x input channels/groups)"),
    ]
    if L.dims == 3:
        rows.append(("2-D kernel slices", f"{w.slices_2d:,} of {fmt.x(w.kernel_shape[-2:])}"))
    rows.append(("parameters", f"{w.params_without_bias:,} without bias, {w.params_with_bias:,} "
                               f"with bias (this layer: {w.params:,})"))
    return "Weights", rows


def cost(e):
    c = e.cost
    L = e.layer
    per_pixel = c.macs // max(1, L.batch * prod(L.output_size))
    rows = [
        ("multiply-adds (MACs)", fmt.count(c.macs)),
        ("per output pixel", f"{per_pixel:,} MACs = Cin/groups x Cout x kernel = "
                             f"{L.in_channels // L.groups} x {L.out_channels} x "
                             f"{prod(L.kernel)}"),
        ("FLOPs", f"{fmt.count(c.flops)} = 2 x MACs, as torch.utils.flop_counter counts"),
    ]
    if c.bias_adds:
        rows.append(("bias adds", f"{fmt.count(c.bias_adds)} more, one per output value"))
    return "Compute (whole batch)", rows


def matrix(e):
    m, p = e.matrix, e.matrix.channels_last
    # Per-group shapes times the count of products is the layer's whole multiply-add count.
    total = (f"; {p.count} x {p.left[0]:,} x {p.left[1]:,} x {p.right[1]:,} = "
             f"{p.count * p.left[0] * p.left[1] * p.right[1]:,} MACs in all" if p.count > 1 else "")
    rows = [
        ("channels-last", f"{fmt.product(p)}: {p.meaning}{total}"),
        ("channels-first", f"{fmt.product(m.channels_first)}: {m.channels_first.meaning}"),
    ]
    if m.im2col_is_identity:
        # One image's rows are a view of it; a batch's rows do not merge into one axis: a copy.
        copy = "no copy" if e.layer.batch == 1 else "one copy of the batch (none if channels_last)"
        rows.append(("im2col", f"the identity: the {fmt.shape(m.im2col_shape)} left matrix is the "
                               f"input itself, reshaped, {copy}"))
    else:
        rows.append(("im2col", f"{fmt.shape(m.im2col_shape)} patch matrix, "
                               f"{fmt.count(m.im2col_elements)} values built from "
                               f"{fmt.count(m.input_elements)} input values "
                               f"({m.im2col_expansion:.3g}x)"))
    return "The matrix product (GEMM) it is", rows


def whole_image(e):
    w = e.whole_image
    rows = [
        ("structure", w.structure),
        ("shape", f"{fmt.shape(w.shape)} = (Cout*P_out, Cin*P_in), blocks of "
                  f"{fmt.shape(w.block_shape)}"),
    ]
    if e.layer.dims > 1:
        rows.append(("one block", f"a {fmt.x(w.block_grid)} grid of {fmt.shape(w.sub_block_shape)} "
                                  f"sub-blocks (output row x input row), {w.nonzero_sub_blocks:,} "
                                  "of them non-zero"))
    rows += [
        ("entries", fmt.count(w.entries)),
        ("non-zeros", f"{fmt.count(w.nonzeros)}: one in every {w.entries_per_nonzero:,.4g} "
                      f"entries (sparsity {w.sparsity:.4%})" if w.nonzeros else
                      "none: every output pixel reads only padding"),
        ("why a GEMM instead", f"stored dense it is {fmt.nbytes(w.dense_bytes)} of float32; the "
                               f"GEMM keeps only the weight, {fmt.nbytes(w.gemm_weight_bytes)}"),
    ]
    return "The whole-image matrix (one image, flattened)", rows


def roofline(e):
    r = e.roofline
    side = "below" if r.bound == "memory" else "above"
    return "Memory or compute bound (float32)", [
        ("bytes moved", f"{fmt.nbytes(r.bytes_moved)} (input, weight, bias, output once each)"),
        ("arithmetic intensity", f"{r.intensity:.3g} FLOPs/byte"),
        ("peaks", f"{fmt.rate(r.peak_flops, 'FLOP')}, {fmt.rate(r.peak_bandwidth, 'B')}; "
                  f"balance {r.balance:.3g} FLOPs/byte"),
        ("source of peaks", r.peaks_source),
        _verdict(r, side),
    ]


def _verdict(r, side):
    """A verdict only from measured peaks; from assumed ones, what they would imply, said so."""
    found = (f"{r.bound}-bound: intensity {side} the balance; at least "
             f"{fmt.seconds(r.min_time_s)}")
    if r.peaks_measured:
        return "verdict", found + " on this machine"
    return "if the assumed peaks held", found + " (an assumption: --measure gives a verdict)"
