"""A worked example small enough to check by hand, computed three ways that must agree.

Small integers in float64, so every product and sum is exact: the written-out dot products,
onebyone.conv1x1 (the per-pixel loop, the library's specification) and torch's conv give
identical numbers, and a reader with a pencil gets them too.
"""
from itertools import product
from math import prod

import numpy as np

from ..core import conv1x1
from ..formulations import whole_image_matrix
from .facts import DotProduct, Example

SIZE = {1: (4,), 2: (2, 2), 3: (1, 2, 2)}  # a handful of pixels for each number of axes
MAX_CHANNELS = 4  # more than this and the written-out sums stop being readable


def small_channels(cin, cout, groups):
    """Example channel counts that keep the layer's character: 1 in, equal, fewer or more out."""
    cin_e = cin if cin <= MAX_CHANNELS else 3
    if cout <= MAX_CHANNELS:
        cout_e = cout
    elif cout == cin:
        cout_e = cin_e
    else:
        cout_e = 2 if cout < cin else cin_e + 1
    if groups == cin and groups > 1:  # depthwise stays depthwise: one group per channel
        groups = cin_e
    g = groups if cin_e % groups == 0 and cout_e % groups == 0 else 1
    return cin_e, cout_e, g


def _nested(a):
    return tuple(_nested(v) for v in a) if isinstance(a, np.ndarray) and a.ndim else a.item()


def example(layer, seed=0):
    """The worked example for `layer`'s kind of 1x1 conv: a few pixels, a few channels."""
    import torch
    import torch.nn.functional as F

    cin, cout, g = small_channels(layer.in_channels, layer.out_channels, layer.groups)
    size = SIZE[layer.dims]
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size=(1, cin) + size).astype(np.float64)  # N, C, *spatial
    # Non-zero weights, so every block of the whole-image matrix shows its identity pattern.
    w = rng.choice([-3, -2, -1, 1, 2, 3], size=(cout, cin // g)).astype(np.float64)
    b = (rng.integers(-2, 3, size=cout) if layer.bias else np.zeros(cout)).astype(np.float64)

    cin_g, cout_g = cin // g, cout // g
    dots = []
    for pixel in product(*(range(n) for n in size)):
        for o in range(cout):
            first = (o // cout_g) * cin_g  # o's group reads channels first .. first + cin_g
            terms = tuple((int(w[o, c]), int(x[(0, first + c) + pixel])) for c in range(cin_g))
            value = sum(wi * xi for wi, xi in terms) + int(b[o])
            dots.append(DotProduct(pixel, o, terms, int(b[o]), value))
    by_hand = np.zeros((cout,) + size)
    for d in dots:
        by_hand[(d.out_channel,) + d.pixel] = d.value

    ours = conv1x1(x, w, b if layer.bias else None, groups=g, method="loop")[0]
    kernel = torch.from_numpy(w.reshape(w.shape + (1,) * len(size)))
    conv = (F.conv1d, F.conv2d, F.conv3d)[len(size) - 1]
    theirs = conv(torch.from_numpy(x), kernel, torch.from_numpy(b) if layer.bias else None,
                  groups=g).numpy()[0]
    diff = max(float(np.abs(ours - by_hand).max()), float(np.abs(theirs - by_hand).max()))

    # The same layer as one matrix on the flattened image: (Cout*P, Cin*P) @ (Cin*P,) + bias.
    pixels = prod(size)
    m = whole_image_matrix(w, pixels, g)
    flat = m @ x[0].reshape(cin * pixels) + np.repeat(b, pixels)
    to_hwc = lambda a: np.moveaxis(a, 0, -1)  # noqa: E731 - read pixel by pixel
    # And as the channels-last GEMM: (P, Cin) @ (Cin, Cout) + bias, groups as a block diagonal.
    from scipy.linalg import block_diag

    rows = to_hwc(x[0]).reshape(pixels, cin)
    full = block_diag(*np.split(w, g, axis=0)).T  # (Cin, Cout)
    gemm = rows @ full + b
    return Example(
        seed=seed, in_channels=cin, out_channels=cout, groups=g, size=size,
        x_hwc=_nested(to_hwc(x[0]).astype(int)), weight=_nested(w.astype(int)),
        bias=_nested(b.astype(int)), dot_products=tuple(dots),
        output_hwc=_nested(to_hwc(by_hand).astype(int)),
        output_onebyone=_nested(to_hwc(ours)), output_torch=_nested(to_hwc(theirs)),
        max_abs_diff=diff, whole_image=_nested(m.toarray().astype(int)),
        whole_image_agrees=bool(np.array_equal(flat, by_hand.reshape(-1))),
        gemm_x=_nested(rows.astype(int)), gemm_w=_nested(full.astype(int)),
        gemm_y=_nested(gemm.astype(int)),
        gemm_agrees=bool(np.array_equal(gemm, to_hwc(by_hand).reshape(pixels, cout))),
    )
