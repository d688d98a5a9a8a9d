"""A worked example small enough to check by hand, computed independent ways that must agree.

The example is the user's layer shrunk in sizes only (standin.py): same kernel, stride,
padding and, where few, groups. Small integers in float64, so every product and sum is exact:
the written-out dot products, onebyone.conv1x1 (the per-pixel loop, the library's
specification; 1x1 kernels only) and torch's conv give identical numbers, and so do the
whole-image matrix and the im2col matrix product.
"""
from itertools import product
from math import prod

import numpy as np

from . import standin
from .facts import DotProduct, Example, KernelSlide
from .general import toeplitz_matrix


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
    import torch.nn.functional as F

    conv = (F.conv1d, F.conv2d, F.conv3d)[S.dims - 1]
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
    import torch.nn.functional as F

    from ..core import conv1x1

    S = standin.layer(layer)
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
    conv = (F.conv1d, F.conv2d, F.conv3d)[S.dims - 1]
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
    m = toeplitz_matrix(w, size, S.stride, S.padding, g).toarray()
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
        stand_in=standin.sentence(S, layer), kernel=S.kernel, stride=S.stride,
        padding=S.padding, output_size=S.output_size,
        weight_rank=int(np.linalg.matrix_rank(full)),
        kernel_slides=_slides(x, w, S) if prod(S.kernel) > 1 else (),
    )
