"""The worked example's layer: the user's layer shrunk in sizes only, and a sentence saying so.

Kernel, stride and padding are kept exactly; the channel counts keep their character (one
input channel stays one, in == out stays square, a reduction stays a reduction); groups are
kept when there are few of them (depthwise stays depthwise); the spatial size is the smallest
that still gives two output pixels per axis, so a stride or padding shows in the numbers.
"""
from . import build, fmt
from .fmt import plural

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


def layer(L):
    """The stand-in facts.Layer for the user's layer L."""
    cin, cout, g = small_channels(L.in_channels, L.out_channels, L.groups)
    # Two output pixels per axis show the stride; 3-D keeps one depth slice, 1-D shows four.
    targets = {1: (4,), 2: (2, 2), 3: (1, 2, 2)}[L.dims]
    size = tuple(_small_size(n, k, s, p, t) for n, k, s, p, t in
                 zip(L.input_size, L.kernel, L.stride, L.padding, targets))
    return build.layer(1, cin, cout, size, L.kernel, L.stride, L.padding, g, L.bias)


def sentence(small, L):
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
