"""Runnable PyTorch code for one layer: nn.Conv, the same layer as a reshape and a matmul, and
(for a 1x1 conv) as nn.Linear at every pixel, each checked against the conv with assert_close.

The code is text in the facts; a test runs it for many layers, so it cannot drift from the op.
"""
from math import prod

from .._axes import names

CONV = {1: "Conv1d", 2: "Conv2d", 3: "Conv3d"}


def pytorch_code(L):
    """The code, as one string, for facts.Layer L.

    >>> from onebyone.explanation import explain
    >>> code = pytorch_code(explain("4x4x3", filters=2).layer)
    >>> exec(code, {})
    1x1 conv == reshape + matmul == Linear at every pixel: all equal
    """
    d, g, K = L.dims, L.groups, prod(L.kernel)
    cin, cout = L.in_channels, L.out_channels
    cin_g, cout_g = cin // g, cout // g
    one = K == 1
    out_pixels = L.batch * prod(L.output_size)
    spatial = tuple(range(2, 2 + d))
    last = _t((0,) + spatial + (1,))
    lines = [
        "import torch",
        "import torch.nn.functional as F",
        "",
        f"conv = torch.nn.{CONV[d]}(",
        f"    {cin}, {cout}, kernel_size={_t(L.kernel)}, stride={_t(L.stride)}, "
        f"padding={_t(L.padding)},",
        f"    groups={g}, bias={L.bias})",
        *_size_warning(L),
        f"x = torch.randn{_t(L.input_shape_nchw)}  # (N, C, {names(d)})",
        f"y = conv(x)  # {_t(L.output_shape_nchw)}",
        "",
        "# The same layer as one matrix product, channels last: a row per output pixel.",
    ]
    source = "x"
    if any(L.padding):
        pads = ", ".join(f"{p}, {p}" for p in reversed(L.padding))
        lines.append(f"x = F.pad(x, ({pads}))  # zeros around each spatial axis, last axis first")
    if one:
        if any(s > 1 for s in L.stride):
            step = ", ".join(f"::{s}" for s in L.stride)
            lines.append(f"x_read = x[:, :, {step}]  # the pixels the stride reads")
            source = "x_read"
        pixels = "N*" + names(d, "*") if source == "x" and not any(L.padding) else \
            "N * output pixels"
        lines.append(f"rows = {source}.permute{last}.reshape({out_pixels}, {cin})  "
                     f"# ({pixels}, Cin)")
    else:
        unfold = "".join(f".unfold({2 + i}, {k}, {s})"
                         for i, (k, s) in enumerate(zip(L.kernel, L.stride)))
        order = _t((0,) + tuple(range(2, 2 + d)) + (1,) + tuple(range(2 + d, 2 + 2 * d)))
        lines += [
            f"patches = x{unfold}  # (N, C, *output size, *kernel): every window",
            f"rows = patches.permute{order}.reshape({out_pixels}, {cin * K})  "
            f"# im2col: (N*P, Cin*K)",
        ]
    bias = " + conv.bias" if L.bias else ""
    if g == 1:
        lines += [
            f"W = conv.weight.reshape({cout}, {cin * K})  # (Cout, Cin*K)",
            f"y2 = rows @ W.T{bias}  # ({out_pixels}, {cin * K}) @ ({cin * K}, {cout})",
        ]
    else:
        lines += [
            f"rows = rows.reshape({out_pixels}, {g}, {cin_g * K}).transpose(0, 1)  "
            f"# (groups, N*P, Cin/groups*K)",
            f"W = conv.weight.reshape({g}, {cout_g}, {cin_g * K})  # one block per group",
            f"y2 = (rows @ W.transpose(1, 2)).transpose(0, 1)  "
            f"# {g} products ({out_pixels}, {cin_g * K}) @ ({cin_g * K}, {cout_g})",
            f"y2 = y2.reshape({out_pixels}, {cout}){bias}",
        ]
    back = _t((0, d + 1) + tuple(range(1, d + 1)))
    lines += [
        f"y2 = y2.reshape({_t((L.batch,) + L.output_size + (cout,))[1:-1]}).permute{back}  "
        f"# back to (N, C, {names(d)})",
        "torch.testing.assert_close(y2, y)",
    ]
    said = "reshape + matmul"
    if one and g == 1:
        lines += [
            "",
            "# A 1x1 conv is a Linear layer applied at every pixel, with the same weights.",
            f"linear = torch.nn.Linear({cin}, {cout}, bias={L.bias})",
            "with torch.no_grad():",
            f"    linear.weight.copy_(conv.weight.reshape({cout}, {cin}))",
        ]
        if L.bias:
            lines.append("    linear.bias.copy_(conv.bias)")
        lines += [f"y3 = linear({source}.permute{last}).permute{back}",
                  "torch.testing.assert_close(y3, y)"]
        said += " == Linear at every pixel"
    kind = "1x1" if one else "x".join(map(str, L.kernel))
    lines.append(f'print("{kind} conv == {said}: all equal")')
    return "\n".join(_short(line) for line in lines) + "\n"


def _short(line, width=79):
    """A line with a trailing comment that would pass `width` gets the comment above it."""
    code, sep, comment = line.partition("  # ")
    if not sep or len(line) <= width:
        return line
    indent = code[:len(code) - len(code.lstrip())]
    return f"{indent}# {comment}\n{code}"


def _size_warning(L, limit=2**30):
    """A comment line when running the code as printed would need more than 4 GiB for x."""
    elements = prod(L.input_shape_nchw)
    if elements <= limit:
        return []
    return [f"# x alone is {elements * 4 / 2**30:,.3g} GiB of float32: shrink the sizes to run this"]


def _t(values):
    """(1, 2) -> '(1, 2)'; a 1-tuple keeps its comma so the code means a tuple."""
    values = tuple(values)
    return f"({values[0]},)" if len(values) == 1 else "(" + ", ".join(map(str, values)) + ")"
