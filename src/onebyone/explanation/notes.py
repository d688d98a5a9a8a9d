"""The special cases people ask about, as notes with this layer's own numbers in them."""
from math import prod

from . import fmt, general
from .facts import Note
from .fmt import plural



def notes(layer, weights, cost):
    """Every note that applies to `layer`, most basic first."""
    L = layer
    cin, cout, g = L.in_channels, L.out_channels, L.groups
    cin_g, cout_g = cin // g, cout // g
    one_by_one = prod(L.kernel) == 1
    hw_in, hw_out = fmt.x(L.input_size), fmt.x(L.output_size)
    plain = all(s == 1 for s in L.stride) and not any(L.padding)
    found = []
    if one_by_one:
        each = "the one filter" if cout == 1 else f"each of the {cout} filters"
        group = " of its group" if g > 1 else ""
        if cin_g == 1:  # one input channel per filter: nothing to mix, a scale per channel
            text = (f"A 1x1 conv looks at one pixel at a time, never its neighbours; with one "
                    f"input channel per filter it mixes no channels: {each} is a "
                    f"{fmt.x(weights.filter_shape)} vector (one number) that scales the 1 value"
                    f"{group} at a pixel.")
        else:
            text = (f"A 1x1 conv looks at one pixel at a time, never its neighbours, and mixes "
                    f"its channels: {each} is a {fmt.x(weights.filter_shape)} vector, dotted with "
                    f"the {plural(cin_g, 'value')}{group} at a pixel.")
        if g == 1 and cin > 1:  # the torch.mul question, in this layer's numbers
            text += (f" Elementwise x * w (torch.mul of {hw_in}x{cin} by "
                     f"{fmt.x(weights.filter_shape)}) keeps {cin} channels; the conv is that "
                     f"product summed over the channels, once per filter, so {hw_in}x{cin} "
                     f"becomes {hw_out}x{cout}.")
        found.append(Note("channel_mixing", text))
    if cin_g == 1 and one_by_one:
        where = "" if plain else " (of its input channel as the stride and padding place it)"
        text = (f"One input channel per filter: output channel o is w[o] * x + b[o], a scaled "
                f"copy of its input channel{where}.")
        if cout_g > 1:
            text += (f" The {cout_g} output channels{' of each group' if g > 1 else ''} are "
                     f"{cout_g} multiples of the same image, plus constants: the ({cout_g}, 1) "
                     f"weight has rank at most 1, so until a nonlinearity they carry nothing "
                     f"beyond that one channel.")
        else:
            text += " The layer is a per-channel scale and shift, like an affine BatchNorm."
        found.append(Note("cin_one", text))
    # The channel-count notes speak of 1x1 mixing; a k x k conv gets the general_kernel note.
    if one_by_one and cin == cout:
        per_group = f" ({cin_g * cout_g:,} in each of the {g} groups)" if g > 1 else ""
        blocks = f"each of its {g} {cin_g}x{cout_g} diagonal blocks has" if g > 1 else "it has"
        found.append(Note("cin_eq_cout", (
            f"Cin = Cout = {cin}: a {cin_g}x{cout_g} mixing{' per group' if g > 1 else ''}, "
            f"costing {plural(cin_g * cout, 'multiply-add')} per output pixel{per_group}, "
            f"like any "
            f"other layer of that size. It is the identity only if W = I. It is a change of "
            f"basis of the channel space (nothing lost, undone by W^-1) only when W is "
            f"invertible: when {blocks} rank {cin_g}, as a random W almost surely does; a W of "
            f"lower rank r projects the {plural(cin, 'channel')} onto an r-dimensional "
            f"subspace. With no "
            f"nonlinearity between it and a neighbouring linear layer (conv, BatchNorm, "
            f"Linear), the two fold into one: W2 @ W1."
        )))
    elif one_by_one and cout < cin:
        found.append(Note("reduction", (
            f"Reduction (bottleneck): {cin} -> {plural(cout, 'channel')}, {cin / cout:.3g}x "
            f"fewer. A "
            f"following 3x3 conv to C channels then costs {cout}*9*C instead of {cin}*9*C "
            f"multiply-adds per pixel; this is how Inception, ResNet bottlenecks and SqueezeNet's "
            f"squeeze layers save compute."
        )))
    elif one_by_one:
        found.append(Note("expansion", (
            f"Expansion: {cin} -> {cout} channels, {cout / cin:.3g}x more, as in MobileNetV2's "
            f"inverted residuals before the depthwise conv."
        )))
    if any(s > 1 for s in L.stride):
        found.append(Note("stride", _stride(L, one_by_one)))
    if g > 1:
        kind = f" (depthwise: {plural(cout_g, 'filter')} per input channel)" if g == cin else ""
        found.append(Note("groups", (
            f"groups={g}{kind}: {g} independent {cin_g} -> {cout_g} convs on slices of the "
            f"channels; the weight is block-diagonal, so parameters and multiply-adds are "
            f"1/{g} of an ungrouped {cin} -> {cout} layer ({weights.params_without_bias:,} "
            f"weights, {cost.macs:,} MACs in all: {cin_g * cout * prod(L.kernel):,} "
            f"multiply-adds per output pixel, {cin_g * cout_g * prod(L.kernel):,} in each group)."
        )))
    if any(L.padding) and one_by_one:
        outputs = prod(L.output_size)
        blank = outputs - general.taps_on_input(L)
        found.append(Note("padding", (
            f"Padding {fmt.x(L.padding)} on a 1x1 conv adds border pixels that hold only zeros: "
            f"{blank:,} of the {outputs:,} output pixels read one of them, so the output there "
            f"is just the bias."
        )))
    if not one_by_one:
        found.append(Note("general_kernel", (
            f"A {fmt.x(L.kernel)} kernel reads a {fmt.x(L.kernel)} neighbourhood per output "
            f"pixel, so the matrix product first copies each neighbourhood into a row (im2col). "
            f"With a 1x1 kernel, stride 1 and no padding, im2col is the identity: the pixels are "
            f"the rows."
        )))
    if L.dims != 2:
        name = {1: "Conv1d", 3: "Conv3d"}[L.dims]
        kernels = plural(weights.kernels, "kernel")
        text = (f"{name}: {L.dims} spatial axes; each filter is {fmt.x(weights.filter_shape)} "
                f"(kernel, then input channels), {kernels} of {fmt.x(L.kernel)} in all.")
        if L.dims == 3:  # the comparison people ask for: the same layer as a Conv2d
            k2, n = L.kernel[1:], weights.kernels * prod(L.kernel[1:])
            text += (f" A Conv2d with {plural(cout, 'filter')} of {fmt.x(k2)} on the same "
                     f"{plural(cin, 'channel')} has the same {kernels}, but 2-D ones of "
                     f"{fmt.x(k2)}: {plural(n, 'weight')} + {cout} "
                     f"bias{'es' if cout > 1 else ''} = {n + cout:,} parameters, against "
                     f"{weights.params_with_bias:,} here "
                     f"({plural(weights.slices_2d, '2-D slice')} of {fmt.x(k2)}).")
        found.append(Note("dims", text))
    return tuple(found)


def _stride(L, one_by_one):
    """Where a strided conv reads, how much it never reads, and whether x[::s] is the same."""
    stride, n = fmt.x(L.stride), prod(L.input_size)
    skipped = n - general.pixels_read(L)
    if one_by_one:
        out, at = _where(L)
        text = (f"Stride {stride}: output pixel {out} reads input pixel {at} and the pixels "
                f"between are skipped")
    else:
        text = f"Stride {stride}: the conv moves the kernel {stride} pixels at a time"
    text += f"; output {fmt.x(L.output_size)}"
    if skipped:  # counted on the real input grid: padding is not the user's pixels
        text += (f", and {skipped:,} of the {n:,} input pixels ({skipped / n:.1%}) are never "
                 f"read")
    text += "."
    if one_by_one and not any(L.padding):
        text += (" It equals subsampling first, x[::s] along each axis, then a stride-1 "
                 "1x1 conv.")
    elif one_by_one:
        sub = tuple(-(-n // s) for n, s in zip(L.input_size, L.stride))
        text += (f" It equals zero-padding by {fmt.x(L.padding)} first, then subsampling the "
                 f"padded grid (x_padded[::s]), then a stride-1 1x1 conv; subsampling x[::s] "
                 f"without the padding gives {fmt.x(sub)} and other pixels.")
    return text


def _where(L):
    """('(i, j)', '(2i - 1, 2j - 1)'): which input pixel each output pixel of a 1x1 conv reads."""
    letters = "ijk"[:L.dims]
    at = []
    for c, s, p in zip(letters, L.stride, L.padding):
        at.append((f"{s}{c}" if s > 1 else c) + (f" - {p}" if p else ""))
    return f"({', '.join(letters)})", f"({', '.join(at)})"
