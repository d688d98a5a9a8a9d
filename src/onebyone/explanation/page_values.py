"""The numbers the interactive page computes with, in Python: its twin, so a test can check the
page against onebyone.conv1x1 on the same values (page_view.js computes them in the browser for
whatever sizes the reader picks; each function here has a function there of the same name).
"""
from functools import lru_cache

import numpy as np


PHOTO = 28  # the side of the shrunk photograph, MNIST's size
WEIGHTS = (-3, -2, -1, 1, 2, 3)  # never zero: every output shows its input, scaled


def mix(key):
    """A 32-bit integer hash (the "lowbias32" mixer) of an int or an int array, as int64.

    Two multiply-xorshift rounds, so neighbouring keys give unrelated values; the page's twin
    does the same with Math.imul and >>>.

    >>> int(mix(7)) == int(mix(7 + 2 ** 32)), len(set(mix(np.arange(1000)).tolist()))
    (True, 1000)
    """
    h = np.asarray(key, dtype=np.int64).astype(np.uint64) % 2 ** 32
    h = (h ^ h >> 16) * np.uint64(0x7FEB352D) % 2 ** 32  # products stay below 2**64
    h = (h ^ h >> 15) * np.uint64(0x846CA68B) % 2 ** 32
    return (h ^ h >> 16).astype(np.int64)


def input_value(c, i, j):
    """x[c, i, j] of the page's example when Cin > 1: an integer in -3..3.

    >>> sorted(set(input_value(np.arange(1000), 0, 0).tolist()))
    [-3, -2, -1, 0, 1, 2, 3]
    """
    return mix(np.asarray(c) * 1000003 + np.asarray(i) * 1009 + j + 17) % 7 - 3


def weight_value(o, c):
    """w[o, c] of the page's example (c counts within o's group): one of WEIGHTS, never 0."""
    return np.asarray(WEIGHTS)[mix(np.asarray(o) * 7919 + np.asarray(c) * 31 + 5) % 6]


def bias_value(o):
    """b[o] of the page's example: an integer in -2..2."""
    return mix(np.asarray(o) * 104729 + 3) % 5 - 2


@lru_cache(maxsize=1)
def photo():
    """The photograph as a (PHOTO, PHOTO) tuple of tuples of ints 0..9 (0 black, 9 white)."""
    import matplotlib.cbook
    import matplotlib.image

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    grey = matplotlib.image.imread(path)
    grey = grey.astype(np.float64).mean(axis=-1)  # (600, 512) grey levels
    block = 12
    face = grey[100:100 + PHOTO * block, 88:88 + PHOTO * block]  # the face and the cap
    small = face.reshape(PHOTO, block, PHOTO, block).mean(axis=(1, 3))
    levels = np.round(9 * (small - small.min()) / (small.max() - small.min())).astype(int)
    return tuple(tuple(int(v) for v in row) for row in levels)


def photo_value(i, j, height, width):
    """x[0, i, j] when Cin == 1: the photograph resampled to height x width, nearest pixel."""
    return photo()[i * PHOTO // height][j * PHOTO // width]


def example_tensors(n_in, height, width, n_out, groups, bias=True):
    """(x (1, Cin, H, W), w (Cout, Cin/groups), b (Cout,)) as float64 arrays: the page's values.

    >>> x, w, b = example_tensors(192, 28, 28, 32, 1)
    >>> x.shape, w.shape, b.shape, set(np.unique(w)) <= set(WEIGHTS)
    ((1, 192, 28, 28), (32, 192), (32,), True)
    """
    if n_in == 1:
        x = [[[photo_value(i, j, height, width) for j in range(width)] for i in range(height)]]
    else:
        x = input_value(*np.meshgrid(np.arange(n_in), np.arange(height), np.arange(width),
                                     indexing="ij"))
    o, k = np.meshgrid(np.arange(n_out), np.arange(n_in // groups), indexing="ij")
    w = weight_value(o, k)
    b = bias_value(np.arange(n_out)) if bias else np.zeros(n_out)
    return (np.asarray(x, np.float64)[None], np.asarray(w, np.float64), np.asarray(b, np.float64))
