"""The worked example as lines of text, for any renderer: what it stands in for, every sum,
the matrix product and the whole-image matrix (aligned grids within 80 columns), the outputs.
"""
from . import fmt

WIDTH = 80  # the example's aligned grids fit this many columns, or are stacked or left out


def example_lines(ex):
    """The worked example as lines of text: what it stands in for, its sums, its outputs."""
    one = all(k == 1 for k in ex.kernel)
    shape = "(O, I/groups)" if one else "(O, I/groups, " + ", ".join("k" * len(ex.kernel)) + ")"
    lines = [
        f"Worked example (seed {ex.seed}): {ex.stand_in}",
        f"weight {shape} = {fmt.lists(ex.weight)}, bias = {fmt.lists(ex.bias)}",
    ]
    lines += _pixel_lines(ex) if one else _slide_lines(ex)
    lines += gemm_lines(ex)
    m = ex.whole_image
    name = "kron(W, I_P)" if one and ex.whole_image_agrees and _plain(ex) else "matrix"
    if 4 * len(m[0]) + 2 <= WIDTH:  # one row per line, within 80 columns
        lines.append(f"the whole-image {name}, ({len(m)}, {len(m[0])}), times the flattened "
                     "image (channel by channel):")
        lines += ["  " + " ".join(f"{v:3d}" for v in row) for row in m]
    else:
        nonzeros = sum(v != 0 for row in m for v in row)
        lines.append(f"the whole-image matrix is ({len(m)}, {len(m[0])}) with {nonzeros:,} "
                     "non-zeros (too wide to print; --json has it)")
    agree = "agree exactly" if ex.max_abs_diff == 0 else f"differ by up to {ex.max_abs_diff:.3g}"
    ways = "three" if ex.output_onebyone is not None else "two"
    lines.append(f"output by hand (pixel by pixel, channels last): {fmt.lists(ex.output_hwc)}")
    if ex.output_onebyone is not None:
        lines.append(f"onebyone.conv1x1:                               "
                     f"{fmt.lists(ex.output_onebyone)}")
    lines += [
        f"torch conv:                                     {fmt.lists(ex.output_torch)}",
        f"The {ways} {agree}; the matrix product "
        f"{'gives the same' if ex.gemm_agrees else 'DISAGREES'}, and so does the whole-image "
        f"matrix times flat(x) + bias{'' if ex.whole_image_agrees else ': NO, IT DISAGREES'}.",
        _rank_line(ex),
    ]
    return lines


def _plain(ex):
    return all(s == 1 for s in ex.stride) and not any(ex.padding)


def _pixel_lines(ex):
    """A 1x1 kernel: each output pixel's dot products with the input pixel it reads."""
    lines = []
    for d in ex.dot_products:
        if d.out_channel == 0:
            at = tuple(i * s - p for i, s, p in zip(d.pixel, ex.stride, ex.padding))
            if _plain(ex):
                lines.append(f"pixel {fmt.shape(d.pixel)}: x = "
                             f"{fmt.lists(fmt.at(ex.x_hwc, d.pixel))}")
            elif all(0 <= a < n for a, n in zip(at, ex.size)):
                lines.append(f"output pixel {fmt.shape(d.pixel)} reads input pixel "
                             f"{fmt.shape(at)}: x = {fmt.lists(fmt.at(ex.x_hwc, at))}")
            else:
                lines.append(f"output pixel {fmt.shape(d.pixel)} reads {fmt.shape(at)}, "
                             "padding: x = 0, so the output is the bias")
        lines.append(f"  out[{d.out_channel}] = {fmt.dot(d)}")
    return lines


def _slide_lines(ex):
    """A k x k kernel: filter 0 as its kernels, each slid over its channel, then summed."""
    k, n = fmt.x(ex.kernel), len(ex.kernel_slides)
    lines = [f"filter 0 is {fmt.plural(n, 'kernel')} of {k}, one per input channel"
             f"{' of its group' if ex.groups > 1 else ''}; each slides over its own channel "
             f"(stride {fmt.x(ex.stride)}, padding {fmt.x(ex.padding)}) and "
             + (f"the {n} maps are summed, plus the bias:" if n > 1 else "its map gets the bias:")]
    for s in ex.kernel_slides:
        lines.append(f"  kernel {s.in_channel} {fmt.lists(s.kernel)} over channel "
                     f"{s.in_channel} {fmt.lists(s.channel)} -> {fmt.lists(s.slid)}")
    channel0 = fmt.lists(_channel(ex.output_hwc, 0))
    lines.append(f"  sum of the {fmt.plural(n, 'map')} + bias {ex.bias[0]} = output channel 0 "
                 f"{channel0}")
    first = ex.dot_products[0]
    lines.append(f"output pixel {fmt.shape(first.pixel)} of channel 0 as one dot product of "
                 f"{len(first.terms)} terms (weight*input, padding reads 0):")
    lines.append(f"  {fmt.dot(first)}")
    return lines


def _channel(nested, c):
    """Channel c of a channels-last nested tuple, as a nested tuple of the spatial axes."""
    if isinstance(nested[0], tuple):
        return tuple(_channel(v, c) for v in nested)
    return nested[c]


def _rank_line(ex):
    rows, cols = len(ex.gemm_w), len(ex.gemm_w[0])
    text = f"W^T {fmt.shape((rows, cols))} has rank {ex.weight_rank}"
    if rows != cols:
        return text + "."
    if ex.weight_rank == rows:
        return text + ": invertible, so this W is a change of basis (W^-1 undoes it)."
    return text + f" < {rows}: not invertible, it loses {rows - ex.weight_rank} dimension(s)."


def gemm_lines(ex):
    """The example as one product, side by side: x (P, Cin) @ W^T (Cin, Cout) + b = y (P, Cout)."""
    grids = [ex.gemm_x, ex.gemm_w, (ex.bias,), ex.gemm_y]
    names = ("x", "W^T", "", "y")
    heads = [f"{name} {fmt.shape((len(g), len(g[0])))}" for name, g in zip(names, grids)]
    heads[2] = "bias"
    cells = [[_row(row) for row in g] for g in grids]
    widths = [max(len(h), *(len(c) for c in col)) for h, col in zip(heads, cells)]
    signs = ["  @  ", "  +  ", "  =  "]
    if sum(widths) + 17 > WIDTH:  # side by side would not fit 80 columns: stack them
        lines = ["as one matrix product, a row per output pixel (channels last), "
                 "x @ W^T + bias = y:"]
        per_block = (WIDTH - 4) // 4  # numbers of 3 digits and a space, after the indent
        for head, grid in zip(heads, grids):
            if len(grid[0]) <= per_block:
                lines += [f"  {head}:"] + [f"    {_row(r)}" for r in grid]
                continue
            for a in range(0, len(grid[0]), per_block):  # a wide grid in blocks of columns
                b = min(a + per_block, len(grid[0]))
                lines.append(f"  {head}, columns {a}-{b - 1}:")
                lines += [f"    {_row(r[a:b])}" for r in grid]
        return lines
    if not all(k == 1 for k in ex.kernel) or len(ex.gemm_x[0]) > 8:  # too wide to print
        return [f"as one matrix product, a row per output pixel (im2col): x {heads[0][2:]} @ "
                f"W^T {heads[1][4:]} + bias = y {heads[3][2:]}"]
    reads = "the input pixel it reads" + (", or 0 in padding" if any(ex.padding) else "")
    what = "pixel" if _plain(ex) else f"output pixel ({reads})"
    lines = [f"as one matrix product, a row per {what} (channels last):"]
    lines.append("  " + _join([h.ljust(w) for h, w in zip(heads, widths)], ["     "] * 3).rstrip())
    for i in range(max(len(c) for c in cells)):
        parts = [(col[i] if i < len(col) else "").ljust(w) for col, w in zip(cells, widths)]
        lines.append("  " + _join(parts, signs if i == 0 else ["     "] * 3).rstrip())
    return lines


def _row(values):
    return " ".join(f"{v:3d}" for v in values)


def _join(parts, signs):
    return parts[0] + "".join(s + p for s, p in zip(signs, parts[1:]))
