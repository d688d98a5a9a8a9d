"""How numbers, shapes and the explanation's tables read, for every renderer.

The tables are (title, [(label, value), ...]) in plain words: text and HTML lay them out
differently; the words and numbers are the same in both.
"""
from math import prod

from .._axes import names
from .._units import IEC, SI, human


def shape(t):
    """(784, 192) -> '(784, 192)'; a 1-tuple keeps no trailing comma."""
    return "(" + ", ".join(str(v) for v in t) + ")"


def x(t):
    """(28, 28, 192) -> '28x28x192'."""
    return "x".join(str(v) for v in t)


def count(n):
    """Thousands separators, and a short form for big numbers.

    >>> count(4816896), count(512)
    ('4,816,896 (4.82 M)', '512')
    """
    return f"{n:,} ({human(n, SI[:3])})" if n >= 1e6 else f"{n:,}"


def nbytes(n):
    return human(n, IEC, unit="B")


def seconds(s):
    """A duration in the unit that reads best: 9.6e-05 -> '96.3 us'."""
    for size, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "us")):
        if s >= size:
            return f"{s / size:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def rate(v, unit):
    return f"{v / 1e9:.3g} G{unit}/s"


def product(p):
    """A matrix product with its shapes, and how many of them when there are several.

    >>> from onebyone.explanation.facts import Product
    >>> product(Product((784, 48), (48, 8), (784, 8), count=4, meaning=""))
    '(784, 48) @ (48, 8) -> (784, 8)  x 4'
    """
    times = f"  x {p.count:,}" if p.count > 1 else ""
    return f"{shape(p.left)} @ {shape(p.right)} -> {shape(p.result)}{times}"


def dot(d):
    """One output value written out, negative numbers in parentheses.

    >>> from onebyone.explanation.facts import DotProduct
    >>> dot(DotProduct(pixel=(0, 0), out_channel=0, terms=((2, 1), (-1, 3)), bias=1, value=0))
    '2*1 + (-1)*3 + 1 = 0'
    """
    terms = " + ".join(f"{_paren(w)}*{_paren(v)}" for w, v in d.terms)
    bias = f" + {_paren(d.bias)}" if d.bias else ""
    return f"{terms}{bias} = {d.value}"


def _paren(v):
    return f"({v})" if v < 0 else str(v)


def plural(n, word):
    """plural(1, 'filter') -> '1 filter'; plural(32, 'filter') -> '32 filters'."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def layer_title(L):
    kind = "1x1" if all(k == 1 for k in L.kernel) else x(L.kernel)
    return (f"{kind} Conv{L.dims}d: {x(L.input_size + (L.in_channels,))} -> "
            f"{plural(L.out_channels, 'filter')} -> {x(L.output_size + (L.out_channels,))}"
            f" ({names(L.dims, ' x ')} x C, batch {L.batch})")


def at(nested, index):
    """nested[i][j]... for index (i, j, ...)."""
    for i in index:
        nested = nested[i]
    return nested


def lists(t):
    """Nested tuples as Python lists, whole floats without '.0': ((1.0, -2.0),) -> '[[1, -2]]'."""
    def plain(v):
        if isinstance(v, tuple):
            return [plain(u) for u in v]
        return int(v) if isinstance(v, float) and v.is_integer() else v

    return str(plain(t))


# The explanation's tables, in reading order.

def sections(e):
    """Every table of the explanation, in reading order."""
    return [_weights(e), _cost(e), _matrix(e), _whole_image(e), _roofline(e)]


def header(L):
    return (f"stride {x(L.stride)}, padding {x(L.padding)}, groups {L.groups}, "
            f"bias {'yes' if L.bias else 'no'}; torch shapes {shape(L.input_shape_nchw)} -> "
            f"{shape(L.output_shape_nchw)}")


def _weights(e):
    w, L = e.weights, e.layer
    k = {1: "k", 2: "kh, kw", 3: "kd, kh, kw"}[L.dims]
    rows = [
        (f"PyTorch (O, I/groups, {k})", shape(w.pytorch_shape)),
        (f"Keras ({k}, I/groups, O)", shape(w.keras_shape)),
        ("filters", f"{w.filters:,}, each {x(w.filter_shape)} ({k}, channels)"),
        ("kernels", f"{w.kernels:,} of {x(w.kernel_shape)} (filters x input channels/groups)"),
    ]
    if L.dims == 3:
        rows.append(("2-D kernel slices", f"{w.slices_2d:,} of {x(w.kernel_shape[-2:])}"))
    rows.append(("parameters", f"{w.params_without_bias:,} without bias, {w.params_with_bias:,} "
                               f"with bias (this layer: {w.params:,})"))
    return "Weights", rows


def _cost(e):
    c = e.cost
    L = e.layer
    per_pixel = c.macs // max(1, L.batch * prod(L.output_size))
    rows = [
        ("multiply-adds (MACs)", count(c.macs)),
        ("per output pixel", f"{per_pixel:,} MACs = Cin/groups x Cout x kernel = "
                             f"{L.in_channels // L.groups} x {L.out_channels} x "
                             f"{prod(L.kernel)}"),
        ("FLOPs", f"{count(c.flops)} = 2 x MACs, as torch.utils.flop_counter counts"),
    ]
    if c.bias_adds:
        rows.append(("bias adds", f"{count(c.bias_adds)} more, one per output value"))
    return "Compute (whole batch)", rows


def _matrix(e):
    m, p = e.matrix, e.matrix.channels_last
    # Per-group shapes times the count of products is the layer's whole multiply-add count.
    total = (f"; {p.count} x {p.left[0]:,} x {p.left[1]:,} x {p.right[1]:,} = "
             f"{p.count * p.left[0] * p.left[1] * p.right[1]:,} MACs in all" if p.count > 1 else "")
    rows = [
        ("channels-last", f"{product(p)}: {p.meaning}{total}"),
        ("channels-first", f"{product(m.channels_first)}: {m.channels_first.meaning}"),
    ]
    if m.im2col_is_identity:
        # One image's rows are a view of it; a batch's rows do not merge into one axis: a copy.
        copy = "no copy" if e.layer.batch == 1 else "one copy of the batch (none if channels_last)"
        rows.append(("im2col", f"the identity: the {shape(m.im2col_shape)} left matrix is the "
                               f"input itself, reshaped, {copy}"))
    else:
        rows.append(("im2col", f"{shape(m.im2col_shape)} patch matrix, "
                               f"{count(m.im2col_elements)} values built from "
                               f"{count(m.input_elements)} input values "
                               f"({m.im2col_expansion:.3g}x)"))
    return "The matrix product (GEMM) it is", rows


def _whole_image(e):
    w = e.whole_image
    rows = [
        ("structure", w.structure),
        ("shape", f"{shape(w.shape)} = (Cout*P_out, Cin*P_in), blocks of "
                  f"{shape(w.block_shape)}"),
    ]
    if e.layer.dims > 1:
        rows.append(("one block", f"a {x(w.block_grid)} grid of {shape(w.sub_block_shape)} "
                                  f"sub-blocks (output row x input row), {w.nonzero_sub_blocks:,} "
                                  "of them non-zero"))
    rows += [
        ("entries", count(w.entries)),
        ("non-zeros", f"{count(w.nonzeros)}: one in every {w.entries_per_nonzero:,.4g} "
                      f"entries (sparsity {w.sparsity:.4%})" if w.nonzeros else
                      "none: every output pixel reads only padding"),
        ("why a GEMM instead", f"stored dense it is {nbytes(w.dense_bytes)} of float32; the "
                               f"GEMM keeps only the weight, {nbytes(w.gemm_weight_bytes)}"),
    ]
    return "The whole-image matrix (one image, flattened)", rows


def _roofline(e):
    r = e.roofline
    side = "below" if r.bound == "memory" else "above"
    return "Memory or compute bound (float32)", [
        ("bytes moved", f"{nbytes(r.bytes_moved)} (input, weight, bias, output once each)"),
        ("arithmetic intensity", f"{r.intensity:.3g} FLOPs/byte"),
        ("peaks", f"{rate(r.peak_flops, 'FLOP')}, {rate(r.peak_bandwidth, 'B')}; "
                  f"balance {r.balance:.3g} FLOPs/byte"),
        ("source of peaks", r.peaks_source),
        _verdict(r, side),
    ]


def _verdict(r, side):
    """A verdict only from measured peaks; from assumed ones, what they would imply, said so."""
    found = (f"{r.bound}-bound: intensity {side} the balance; at least "
             f"{seconds(r.min_time_s)}")
    if r.peaks_measured:
        return "verdict", found + " on this machine"
    return "if the assumed peaks held", found + " (an assumption: --measure gives a verdict)"
