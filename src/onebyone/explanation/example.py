"""A worked example small enough to check by hand, computed independent ways that must agree,
and the lines of text that show it.

The example is the user's layer shrunk in sizes only (small_layer): kernel, stride and padding
are kept exactly; the channel counts keep their character (one input channel stays one, in ==
out stays square, a reduction stays a reduction); groups are kept when there are few of them
(depthwise stays depthwise); the spatial size is the smallest that still gives two output pixels
per axis, so a stride or padding shows in the numbers.

Small integers in float64, so every product and sum is exact: the written-out dot products,
onebyone.conv1x1 (the per-pixel loop, the library's specification; 1x1 kernels only) and
torch's conv give identical numbers, and so do the whole-image matrix and the im2col matrix
product. example_lines() writes it out for any renderer: every sum, the matrix product and the
whole-image matrix (aligned grids within 80 columns), the outputs.
"""
from itertools import product
from math import prod

import numpy as np

from .._axes import conv_function
from . import compute, fmt
from .facts import DotProduct, Example, KernelSlide
from .fmt import plural


# The stand-in: the user's layer shrunk in sizes only, and a sentence saying so.

MAX_CHANNELS = 4  # more than this and the written-out sums stop being readable


def _shrink(cin, cout, limit):
    """(cin, cout) -> small counts with the same relation: 1 in, equal, fewer or more out.

    >>> _shrink(192, 32, 4), _shrink(1, 16, 4), _shrink(64, 64, 4), _shrink(3, 64, 4)
    ((3, 2), (1, 2), (3, 3), (3, 4))
    """
    cin_e = cin if cin <= limit else limit - 1
    if cout == cin:
        return cin_e, cin_e
    if cout < cin:
        return cin_e, cout if cout < cin_e else max(1, cin_e - 1)
    return cin_e, cout if (cin_e == cin and cout <= limit) else cin_e + 1


def small_channels(cin, cout, groups):
    """(cin, cout, groups) of the example: few channels, the same kind of layer.

    >>> small_channels(192, 32, 1), small_channels(64, 64, 64), small_channels(64, 64, 4)
    ((3, 2, 1), (3, 3, 3), (8, 8, 4))
    """
    if groups == 1:
        return _shrink(cin, cout, MAX_CHANNELS) + (1,)
    if groups == cin:  # depthwise stays depthwise: one input channel per group
        g = groups if groups <= MAX_CHANNELS else 3
    else:
        g = groups if groups <= MAX_CHANNELS else 2
    cin_g, cout_g = _shrink(cin // groups, cout // groups, 3)
    return cin_g * g, cout_g * g, g


def _small_size(n, k, s, p, target):
    """The smallest size m <= n whose output has min(target, output of n) positions."""
    out = lambda m: (m + 2 * p - k) // s + 1  # noqa: E731 - the conv's output-size formula
    want = min(target, out(n))
    m = max(1, k - 2 * p)
    while out(m) < want or m < min(n, want):  # ends by m = n at the latest: out(n) >= want
        m += 1
    return m


def small_layer(L):
    """The stand-in facts.Layer for the user's layer L."""
    cin, cout, g = small_channels(L.in_channels, L.out_channels, L.groups)
    # Two output pixels per axis show the stride; 3-D keeps one depth slice, 1-D shows four.
    targets = {1: (4,), 2: (2, 2), 3: (1, 2, 2)}[L.dims]
    size = tuple(_small_size(n, k, s, p, t) for n, k, s, p, t in
                 zip(L.input_size, L.kernel, L.stride, L.padding, targets))
    return compute.layer(1, cin, cout, size, L.kernel, L.stride, L.padding, g, L.bias)


def stand_in_sentence(small, L):
    """'a 2x2x3 stand-in for your 28x28x192 -> 32 filters, same kernel 1x1, stride 1x1, ...'."""
    x = fmt.x
    same = [f"kernel {x(L.kernel)}", f"stride {x(L.stride)}", f"padding {x(L.padding)}"]
    groups = f"groups {L.groups}"
    if small.groups == L.groups:
        same.append(groups)
    else:
        groups = f"{small.groups} groups standing in for your {L.groups}" + (
            " (still depthwise)" if L.groups == L.in_channels else "")
    ours = x(small.input_size + (small.in_channels,))
    yours = x(L.input_size + (L.in_channels,))
    if (small.input_size, small.in_channels, small.out_channels) == (
            L.input_size, L.in_channels, L.out_channels):
        text = f"your layer itself ({yours} -> {plural(L.out_channels, 'filter')}), small enough"
    else:
        text = (f"a {ours} -> {plural(small.out_channels, 'filter')} stand-in for your {yours} "
                f"-> {plural(L.out_channels, 'filter')}, same {', '.join(same)}")
    if small.groups != L.groups:
        text += f"; {groups}"
    return text


# The example's values, every way of computing them, and their agreement.

def _nested(a):
    return tuple(_nested(v) for v in a) if isinstance(a, np.ndarray) and a.ndim else a.item()


def _ints(a):
    return _nested(np.asarray(a).astype(int))


def _padded(x, padding):
    """x (C, *size) with `padding` zeros on both sides of each spatial axis."""
    return np.pad(x, [(0, 0)] + [(p, p) for p in padding])


def _patches(x, S):
    """im2col: (P_out, Cin*K), one row per output pixel, columns channel by channel, then taps."""
    xp = _padded(x, S.padding)
    rows = []
    for out in product(*(range(n) for n in S.output_size)):
        start = [o * s for o, s in zip(out, S.stride)]
        window = xp[(slice(None),) + tuple(slice(a, a + k) for a, k in zip(start, S.kernel))]
        rows.append(window.reshape(-1))
    return np.array(rows)


def _dots(x, w, b, S):
    """Every output value as its written-out sum over the group's channels and the taps."""
    xp = _padded(x, S.padding)
    cin_g, cout_g = S.in_channels // S.groups, S.out_channels // S.groups
    dots = []
    for pixel in product(*(range(n) for n in S.output_size)):
        for o in range(S.out_channels):
            first = (o // cout_g) * cin_g  # o's group reads channels first .. first + cin_g
            terms = []
            for c in range(cin_g):
                for tap in product(*(range(k) for k in S.kernel)):
                    at = tuple(i * s + t for i, s, t in zip(pixel, S.stride, tap))
                    terms.append((int(w[(o, c) + tap]), int(xp[(first + c,) + at])))
            value = sum(wi * xi for wi, xi in terms) + int(b[o])
            dots.append(DotProduct(pixel, o, tuple(terms), int(b[o]), value))
    return tuple(dots)


def _slides(x, w, S):
    """Filter 0 as its Cin/groups kernels: each slid over its own channel, then summed."""
    import torch

    conv = conv_function(S.dims)
    slides = []
    for c in range(S.in_channels // S.groups):
        one = conv(torch.from_numpy(x[None, c:c + 1]), torch.from_numpy(w[0:1, c:c + 1]),
                   stride=S.stride, padding=S.padding)[0, 0].numpy()
        slides.append(KernelSlide(in_channel=c, kernel=_ints(w[0, c]), channel=_ints(x[c]),
                                  slid=_ints(one)))
    return tuple(slides)


def example(layer, seed=0):
    """The worked example for `layer`: its stand-in, every value written out and checked."""
    import torch

    from ..core import conv1x1

    S = small_layer(layer)
    cin, cout, g, size = S.in_channels, S.out_channels, S.groups, S.input_size
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size=(cin,) + size).astype(np.float64)  # C, *spatial
    # Non-zero weights, so every block of the whole-image matrix shows its pattern.
    w = rng.choice([-3, -2, -1, 1, 2, 3], size=(cout, cin // g) + S.kernel).astype(np.float64)
    b = (rng.integers(-2, 3, size=cout) if S.bias else np.zeros(cout)).astype(np.float64)

    dots = _dots(x, w, b, S)
    by_hand = np.zeros((cout,) + S.output_size)
    for d in dots:
        by_hand[(d.out_channel,) + d.pixel] = d.value
    conv = conv_function(S.dims)
    theirs = conv(torch.from_numpy(x[None]), torch.from_numpy(w),
                  torch.from_numpy(b) if S.bias else None, stride=S.stride, padding=S.padding,
                  groups=g).numpy()[0]
    ours = None
    if prod(S.kernel) == 1:  # the library's own op, its per-pixel loop
        ours = conv1x1(x[None], w.reshape(cout, -1), b if S.bias else None, stride=S.stride,
                       padding=S.padding, groups=g, method="loop")[0]
    diff = max(float(np.abs(a - by_hand).max()) for a in (theirs, ours) if a is not None)

    # The layer as one matrix on the flattened image: (Cout*P_out, Cin*P_in) @ (Cin*P_in,).
    pixels = prod(S.output_size)
    m = compute.toeplitz_matrix(w, size, S.stride, S.padding, g).toarray()
    flat = m @ x.reshape(-1) + np.repeat(b, pixels)
    to_hwc = lambda a: np.moveaxis(a, 0, -1)  # noqa: E731 - read pixel by pixel
    # And as the channels-last GEMM: (P_out, Cin*K) @ (Cin*K, Cout) + bias, groups block-diagonal.
    from scipy.linalg import block_diag

    rows = _patches(x, S)
    full = block_diag(*(wg.reshape(len(wg), -1).T for wg in np.split(w, g, axis=0)))
    gemm = rows @ full + b
    return Example(
        seed=seed, in_channels=cin, out_channels=cout, groups=g, size=size,
        x_hwc=_ints(to_hwc(x)),
        weight=_ints(w.reshape(cout, -1) if prod(S.kernel) == 1 else w), bias=_ints(b),
        dot_products=dots,
        output_hwc=_ints(to_hwc(by_hand)),
        output_onebyone=None if ours is None else _nested(to_hwc(ours)),
        output_torch=_nested(to_hwc(theirs)), max_abs_diff=diff, whole_image=_ints(m),
        whole_image_agrees=bool(np.array_equal(flat, by_hand.reshape(-1))),
        gemm_x=_ints(rows), gemm_w=_ints(full), gemm_y=_ints(gemm),
        gemm_agrees=bool(np.array_equal(gemm, to_hwc(by_hand).reshape(pixels, cout))),
        stand_in=stand_in_sentence(S, layer), kernel=S.kernel, stride=S.stride,
        padding=S.padding, output_size=S.output_size,
        weight_rank=int(np.linalg.matrix_rank(full)),
        kernel_slides=_slides(x, w, S) if prod(S.kernel) > 1 else (),
    )


# The example as lines of text, for any renderer.

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
