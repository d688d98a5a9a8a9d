"""The terminal rendering: rich tables and paragraphs, formatted from the facts, nothing computed."""
import io

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import fmt


def render(e, console=None):
    """Print the explanation `e` to a rich console (default: the terminal)."""
    console = console or Console()
    L = e.layer
    console.print(f"[bold]{escape(fmt.layer_title(L))}[/]")
    console.print(
        f"stride {fmt.x(L.stride)}, padding {fmt.x(L.padding)}, groups {L.groups}, "
        f"bias {'yes' if L.bias else 'no'}; torch shapes {fmt.shape(L.input_shape_nchw)} -> "
        f"{fmt.shape(L.output_shape_nchw)}"
    )
    for section in (_weights, _cost, _matrix, _whole_image, _roofline):
        console.print(section(e))
    if e.notes:
        console.print("[bold]Notes[/]")
        for n in e.notes:
            console.print(f"- {escape(n.text)}")
    if e.example is not None:
        _example(e.example, console)


def to_text(e, width=100):
    """The rendering as plain text (what docs and tests read)."""
    buffer = io.StringIO()
    render(e, Console(file=buffer, width=width, no_color=True, highlight=False))
    return buffer.getvalue()


def _table(title):
    t = Table(title=title, title_justify="left", show_header=False, title_style="bold")
    t.add_column(style="cyan")
    t.add_column()
    return t


def _weights(e):
    w, L = e.weights, e.layer
    k = "kh, kw" if L.dims == 2 else ("k" if L.dims == 1 else "kd, kh, kw")
    t = _table("Weights")
    t.add_row(f"PyTorch (O, I/groups, {k})", fmt.shape(w.pytorch_shape))
    t.add_row(f"Keras ({k}, I/groups, O)", fmt.shape(w.keras_shape))
    t.add_row("filters", f"{w.filters:,}, each {fmt.x(w.filter_shape)} ({k}, channels)")
    t.add_row("kernels", f"{w.kernels:,} of {fmt.x(w.kernel_shape)} (filters x input channels/groups)")
    if w.slices_2d is not None and L.dims == 3:
        t.add_row("2-D kernel slices", f"{w.slices_2d:,} of {fmt.x(w.kernel_shape[-2:])}")
    t.add_row("parameters", f"{w.params_without_bias:,} without bias, {w.params_with_bias:,} with "
                            f"bias (this layer: {w.params:,})")
    return t


def _cost(e):
    c = e.cost
    t = _table("Compute (whole batch)")
    t.add_row("multiply-adds (MACs)", fmt.count(c.macs))
    t.add_row("FLOPs", f"{fmt.count(c.flops)} = 2 x MACs, as torch.utils.flop_counter counts")
    if c.bias_adds:
        t.add_row("bias adds", f"{fmt.count(c.bias_adds)} more, one per output value")
    return t


def _matrix(e):
    m = e.matrix
    t = _table("The matrix product (GEMM) it is")
    t.add_row("channels-last", f"{fmt.product(m.channels_last)}: {m.channels_last.meaning}")
    t.add_row("channels-first", f"{fmt.product(m.channels_first)}: {m.channels_first.meaning}")
    if m.im2col_is_identity:
        t.add_row("im2col", f"the identity: the {fmt.shape(m.im2col_shape)} left matrix is the "
                            "input itself, reshaped, no copy")
    else:
        t.add_row("im2col", f"{fmt.shape(m.im2col_shape)} patch matrix, {fmt.count(m.im2col_elements)} "
                            f"values built from {fmt.count(m.input_elements)} input values "
                            f"({m.im2col_elements / m.input_elements:.3g}x)")
    return t


def _whole_image(e):
    w = e.whole_image
    t = _table("The whole-image matrix (one image, flattened)")
    t.add_row("structure", escape(w.structure))
    t.add_row("shape", f"{fmt.shape(w.shape)} = (Cout*P_out, Cin*P_in), blocks of {fmt.shape(w.block_shape)}")
    if e.layer.dims > 1:
        t.add_row("one block", f"a {fmt.x(w.block_grid)} grid of {fmt.shape(w.sub_block_shape)} "
                               f"sub-blocks (output row x input row), {w.nonzero_sub_blocks:,} "
                               "of them non-zero")
    t.add_row("entries", fmt.count(w.entries))
    t.add_row("non-zeros", f"{fmt.count(w.nonzeros)}; sparsity {w.sparsity:.6%}")
    t.add_row("why a GEMM instead", f"stored dense it is {fmt.nbytes(w.dense_bytes)} of float32; the "
                                    f"GEMM keeps only the weight, {fmt.nbytes(w.gemm_weight_bytes)}")
    return t


def _roofline(e):
    r = e.roofline
    t = _table("Memory or compute bound (float32)")
    t.add_row("bytes moved", f"{fmt.nbytes(r.bytes_moved)} (input, weight, bias, output once each)")
    t.add_row("arithmetic intensity", f"{r.intensity:.3g} FLOPs/byte")
    t.add_row("peaks", f"{fmt.rate(r.peak_flops, 'FLOP')}, {fmt.rate(r.peak_bandwidth, 'B')}; "
                       f"balance {r.balance:.3g} FLOPs/byte")
    t.add_row("source of peaks", escape(r.peaks_source))
    t.add_row("verdict", f"[bold]{r.bound}-bound[/]: intensity {'below' if r.bound == 'memory' else 'above'}"
                         f" the balance; at least {r.min_time_s * 1e6:.3g} us")
    return t


def _example(ex, console):
    console.print(f"[bold]Worked example[/] (seed {ex.seed}): {fmt.x(ex.size)} pixels, "
                  f"{ex.in_channels} -> {ex.out_channels} channels, groups {ex.groups}")
    console.print(f"weight (O, I/groups) = {list(map(list, ex.weight))}, bias = {list(ex.bias)}")
    for d in ex.dot_products:
        x_pixel = _at(ex.x_hwc, d.pixel)
        if d.out_channel == 0:
            console.print(f"pixel {fmt.shape(d.pixel)}: x = {list(x_pixel)}")
        console.print(f"  out[{d.out_channel}] = {fmt.dot(d)}")
    console.print(f"output by hand (pixel by pixel, channels last): {_lists(ex.output_hwc)}")
    console.print(f"onebyone.conv1x1:                               {_lists(ex.output_onebyone)}")
    console.print(f"torch conv:                                     {_lists(ex.output_torch)}")
    agree = "agree exactly" if ex.max_abs_diff == 0 else f"differ by up to {ex.max_abs_diff:.3g}"
    console.print(f"The three {agree}; kron(W, I_P) @ flat(x) + bias "
                  f"{'gives the same' if ex.whole_image_agrees else 'DISAGREES'}.")


def _at(nested, index):
    for i in index:
        nested = nested[i]
    return nested


def _lists(t):
    return str(_as_lists(t)).replace(".0,", ",").replace(".0]", "]")


def _as_lists(t):
    return [_as_lists(v) for v in t] if isinstance(t, tuple) else t
