"""The layer in words: the questions people ask about 1x1 convs, answered, and the special
cases as notes, each with this layer's own numbers.

Each answer is one or two sentences computed from the facts (compute.py); the ones that are
about this very layer (one input channel, in == out, a k x k kernel ...) come first. Renderers
print them before the tables; tests check every number in them against torch.
"""
from math import prod

from . import compute, fmt
from .code import CONV
from .facts import Answer, Note
from .fmt import plural


def _size(kernel):
    """A kernel_size argument as code: 3 when every axis is 3, else the tuple."""
    return str(kernel[0]) if len(set(kernel)) == 1 else str(tuple(kernel))


def answers(L, w, cost, matrix):
    """Every answer for layer L (facts.Layer), with its Weights, Cost and MatrixView."""
    one = prod(L.kernel) == 1
    g, cin, cout = L.groups, L.in_channels, L.out_channels
    cin_g, cout_g = cin // g, cout // g
    hw_in, hw_out = fmt.x(L.input_size), fmt.x(L.output_size)
    each = "the one filter" if cout == 1 else f"each of the {cout} filters"
    # The most specific questions first; sorting keeps this order among equals.
    found = [
        _cin_one(L, one, cin_g, cout_g),
        _cin_eq_cout(L, one, cin_g, cout_g),
        Answer("filters_vs_kernels", "Filters or kernels: what do Keras and PyTorch count?", (
            f"{plural(cout, 'filter')}, each made of {plural(cin_g, 'kernel')} of "
            f"{fmt.x(L.kernel)}: {plural(w.kernels, 'kernel')}, {w.params_with_bias:,} parameters "
            f"with "
            f"the biases; in Keras Conv{L.dims}D(filters={cout}, kernel_size={_size(L.kernel)}) "
            f"and PyTorch nn.{CONV[L.dims]}({cin}, {cout}, {_size(L.kernel)}) alike, a filter "
            f"makes one output channel and a kernel is its slice for one input channel"
            f"{' of its group' if g > 1 else ''} (the weight is {w.keras_shape} in Keras, "
            f"{w.pytorch_shape} in PyTorch)."
        ), not one),
        _dims(L, w),
        Answer("shrink", f"How does a {fmt.x(w.filter_shape)} filter shrink {hw_in}x{cin}?", (
            f"It does not shrink the image: at every output pixel {each} "
            f"takes one dot product with the {fmt.x(w.filter_shape)} values it covers"
            f"{' in its group' if g > 1 else ''} and gives one number, so {plural(cout, 'filter')} "
            f"give{'s' if cout == 1 else ''} {plural(cout, 'number')} per pixel: {hw_in}x{cin} "
            f"becomes {hw_out}x{cout}. The number of "
            f"filters sets the output depth"
            + (f"; kernel, stride and padding set {hw_out}." if hw_out != hw_in else ".")
        ), L.out_channels < L.in_channels),
        _matmul(L, matrix, one),
        _linear(L, one, cin_g),
        Answer("pointwise", "Why is it called pointwise?", (
            "A 1x1 conv acts on each point (pixel) alone, mixing only that pixel's channels, so "
            "it is called pointwise; in MobileNet's depthwise separable conv a depthwise k x k "
            "conv filters each channel over space and a pointwise 1x1 conv then mixes channels. "
            + (f"This layer is pointwise: {plural(cout, 'output value')} per pixel from its "
               f"{plural(cin, 'input value')}." if one else
               f"This {fmt.x(L.kernel)} layer is not pointwise: each output reads a "
               f"{fmt.x(L.kernel)} neighbourhood.")
        ), False),
        _purpose(L, one),
    ]
    return tuple(sorted(found, key=lambda a: not a.about_this_layer))


def _matmul(L, m, one):
    p = m.channels_last
    shapes = f"{p.left} @ {p.right} -> {p.result}"
    plain = one and all(s == 1 for s in L.stride) and not any(L.padding)
    batch = f"{L.batch} x " if L.batch > 1 else ""
    grid = f"{batch}{fmt.x(L.output_size)}"
    rows = f"{grid} = {p.left[0]:,}" if grid != f"{p.left[0]}" else grid  # not '50 = 50'
    if plain and L.groups == 1:
        # One NCHW image's channels-last rows, x.permute(0, 2, 3, 1).reshape(P, Cin), are a
        # view (strides (1, P)); several images no longer merge into one row axis: a copy.
        copy = ("no copy of any pixel" if L.batch == 1 else
                "one copy of the batch, none for a channels_last tensor")
        text = (f"Yes: here it is exactly {shapes}, plus the bias. The {rows} pixels are the "
                f"rows and the {plural(L.in_channels, 'channel')} the columns; the input only "
                f"needs a reshape to channels last, {copy}.")
    elif one and L.groups == 1:
        text = (f"Yes, after picking the pixels the stride and padding read (the padding ones "
                f"are zero rows): {shapes}, one row per output pixel ({rows}).")
    elif one:
        text = (f"Yes, one per group: {L.groups} products {shapes}, or one product with a "
                f"block-diagonal ({L.in_channels}, {L.out_channels}) weight that is mostly "
                f"zeros.")
    else:
        text = (f"Not directly: a {fmt.x(L.kernel)} kernel first copies each neighbourhood into a "
                f"row (im2col, {m.im2col_expansion:.3g}x the input), then it is "
                f"{shapes}{f' in each of {L.groups} groups' if L.groups > 1 else ''}.")
    question = "Is a 1x1 conv just a matmul of (H*W, Cin) by (Cin, Cout)?"
    return Answer("matmul", question, text, plain and L.groups == 1)


def _cin_eq_cout(L, one, cin_g, cout_g):
    c = L.in_channels
    tail = ("still a full mixing, not a no-op: it is the identity only if W = I, a change of "
            "basis (undone by W^-1) only when W is invertible, and two such layers with no "
            "nonlinearity between them fold into one.")
    if L.in_channels == L.out_channels and one:
        text = (f"Here Cin = Cout = {c}: a {cin_g}x{cout_g} weight"
                f"{' per group' if L.groups > 1 else ''}, {plural(cin_g * c, 'multiply-add')} per "
                f"output pixel, {tail}")
    else:
        text = (f"Here Cin = {c} and Cout = {L.out_channels}. A 1x1 conv {c} -> {c} would be a "
                f"{c}x{c} weight, {plural(c * c, 'multiply-add')} per pixel, {tail}")
    return Answer("cin_eq_cout", "What happens when in == out channels?", text,
                  one and L.in_channels == L.out_channels)


def _cin_one(L, one, cin_g, cout_g):
    if L.out_channels == 1:
        question = "With one input channel, is the output a scaled copy of the input (say an MNIST digit)?"
    else:
        question = (f"With one input channel, are the {L.out_channels} outputs scaled copies of the "
                    f"input (say an MNIST digit)?")
    # The rank is that of the outputs stacked as (Cout, pixels): a bias adds a constant image,
    # one more dimension, so the claim is made of the outputs less their biases.
    less = ", less their biases," if L.bias else ""
    b = " + b[o]" if L.bias else ""
    copies = (f"each output channel o is w[o] * x{b}: the image times one number"
              f"{', plus a constant' if L.bias else ''}, so all of them together{less} have "
              f"rank 1 until a nonlinearity")
    if cin_g == 1 and one and L.groups == 1:
        text = f"Yes: here {copies}."
    elif cin_g == 1 and one:
        text = (f"Yes, group by group: output channel o is w[o] * x_g{b}, with x_g the one "
                f"input channel of its group, so the {plural(L.out_channels, 'output')} are "
                f"scaled copies of {L.groups} different images ({cout_g} of each) and "
                f"together{less} have rank at most {L.groups}, not 1.")
    elif one:
        text = (f"Not here: each output mixes {cin_g} input channels. With one input channel "
                f"(e.g. 28x28x1 -> {plural(L.out_channels, 'filter')}), yes: {copies}.")
    else:
        text = (f"No: a {fmt.x(L.kernel)} kernel weighs a neighbourhood (a blur, an edge "
                f"detector), so its outputs are filtered images, not scaled copies; only a 1x1 "
                f"kernel on one channel gives scaled copies.")
    return Answer("cin_one", question, text, cin_g == 1)


def _dims(L, w):
    other = 3 if L.dims == 2 else 2  # the Conv2d <-> Conv3d comparison; Conv1d against Conv2d
    kernel = {1: L.kernel * 2, 2: L.kernel[:1] + L.kernel, 3: L.kernel[1:]}[L.dims]
    weights = w.kernels * prod(kernel)
    name = CONV[other]
    text = (f"This {CONV[L.dims]} has {plural(w.filters, 'filter')} of {fmt.x(w.filter_shape)}: "
            f"{plural(w.kernels, 'kernel')} of {fmt.x(L.kernel)}, {w.params_with_bias:,} "
            f"parameters. A "
            f"{name} with {plural(w.filters, 'filter')} of {fmt.x(kernel)} on the same "
            f"{plural(L.in_channels, 'channel')} has the same {plural(w.kernels, 'kernel')} "
            f"(filters x input "
            f"channels{'/groups' if L.groups > 1 else ''}) but each is {fmt.x(kernel)}: "
            f"{plural(weights, 'weight')} + {w.filters:,} bias{'es' if w.filters > 1 else ''} = "
            f"{weights + w.filters:,} parameters.")
    return Answer("conv2d_vs_conv3d", "How many kernels does Conv2D use, and Conv3D?", text,
                  L.dims == 3 or prod(L.kernel) > 1)


def _purpose(L, one):
    cin, cout = L.in_channels, L.out_channels
    text = ("Two things. Network in Network (Lin, Chen and Yan, 2013): a 1x1 conv followed by "
            "a nonlinearity is a small MLP run at every pixel, adding depth and channel mixing "
            "without touching space (without the nonlinearity, stacked 1x1 convs fold into "
            "one). And a cheap bottleneck: ")
    if cout < cin:
        text += (f"here {cin} -> {cout} channels makes a following 3x3 conv to C channels cost "
                 f"{cout}*9*C instead of {cin}*9*C multiply-adds per pixel, {cin / cout:.3g}x "
                 f"less (Inception, ResNet bottlenecks, SqueezeNet).")
    else:
        text += (f"reducing channels before a 3x3 conv (Inception, ResNet); here {cin} -> "
                 f"{cout} is {'an expansion, as in MobileNetV2' if cout > cin else 'square'}.")
    return Answer("purpose", "What is a 1x1 conv for?", text, False)


def _linear(L, one, cin_g):
    cin, cout = L.in_channels, L.out_channels
    if one and L.groups == 1:
        text = (f"Yes: nn.{CONV[L.dims]}({cin}, {cout}, 1) is nn.Linear({cin}, {cout}) applied "
                f"to the {plural(cin, 'channel')} at each of the {prod(L.output_size):,} output "
                f"pixels "
                f"(per image), with weight = conv.weight.reshape({cout}, {cin}); the PyTorch "
                f"code below checks it.")
    elif one:
        text = (f"Yes, with a block-diagonal weight: {L.groups} Linear({cin_g}, "
                f"{cout // L.groups}) layers side by side at every pixel.")
    else:
        text = (f"Not this one: a {fmt.x(L.kernel)} conv is a Linear({cin_g * prod(L.kernel)}, "
                f"{cout // L.groups}) on each flattened neighbourhood (im2col row); only a 1x1 "
                f"conv is a Linear layer at every pixel.")
    return Answer("linear_per_pixel", "Is a 1x1 conv a Linear layer at every pixel?", text,
                  False)


# The special cases people ask about, as notes with this layer's own numbers in them.

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
        blank = outputs - compute.taps_on_input(L)
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
        name = CONV[L.dims]
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
    skipped = n - compute.pixels_read(L)
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
