"""Linear chains of convs: what one is, and whether one conv computing it is exact and cheaper.

Analysis only: findings reports chains, the collapse pass rewrites them; neither re-states these
rules. A chain is conv A whose output only conv B reads (CHAINS in patterns.py; Linear then
Linear too, a 1x1 -> 1x1 chain on the last axis), maybe through an eval-mode BatchNorm (an affine map per channel, which folds into A, so the chain stays linear).
"""
import math

import torch

from .patterns import CHAINS, as_tuple, bias_or_zeros, is_bn, match_chain, module
from .trace import shape_of

PATTERNS = ("1x1 -> 1x1", "kxk -> 1x1", "1x1 -> kxk", "linear -> linear")


def chains(gm, through_bn=True):
    """(pattern, a, bn, b) node tuples; bn is the BatchNorm node between, or None.

    >>> import torch
    >>> from onebyone.graph.trace import trace
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), torch.nn.BatchNorm2d(8),
    ...                           torch.nn.Conv2d(8, 4, 3)).eval()
    >>> [(p, a.target, bn.target, b.target) for p, a, bn, b in chains(trace(net))]
    [('1x1 -> kxk', '0', '1', '2')]
    """
    found = []
    for pattern in PATTERNS:
        first, second = CHAINS[pattern]
        found += [(pattern, a, None, b) for a, b in match_chain(gm, first, second)]
        if through_bn and pattern != "linear -> linear":  # BN normalises axis 1, not a Linear's
            after_bn = dict(match_chain(gm, is_bn, second))
            found += [(pattern, a, bn, after_bn[bn]) for a, bn in match_chain(gm, first, is_bn)
                      if bn in after_bn]
    return found


def why_not(ma, mb, pattern, bn=None):
    """'' if one conv computes mb(bn(ma(x))) exactly, else why not (conv modules A and B)."""
    if pattern == "linear -> linear":
        return ""  # two matrices on the last axis: their product, always exact
    dims = ma.weight.ndim - 2
    if ma.groups != 1 or mb.groups != 1:
        return "grouped conv (collapsing would make it dense)"
    if isinstance(ma.padding, str) or isinstance(mb.padding, str):
        return "string padding"
    if pattern == "1x1 -> kxk":
        if as_tuple(ma.stride, dims) != (1,) * dims or as_tuple(ma.padding, dims) != (0,) * dims:
            return "1x1 with stride or padding before a k x k conv"
        # B's zero padding would meet A's bias (and BatchNorm's shift) at the borders, where
        # the one conv would see zeros instead.
        pads = as_tuple(mb.padding, dims) != (0,) * dims
        if pads and bool(shift(ma, bn).any()):
            return "the 1x1's bias would be lost at the k x k conv's zero-padded borders"
    elif as_tuple(mb.padding, dims) != (0,) * dims:
        return "padded 1x1 after a conv"
    return ""


def shift(ma, bn=None):
    """The constant A (then bn) adds to every output pixel, per channel: A's bias, folded."""
    with torch.no_grad():
        b = bias_or_zeros(ma)
        if bn is None:
            return b
        scale = torch.rsqrt(bn.running_var + bn.eps)
        scale = scale * bn.weight if bn.weight is not None else scale
        return (b - bn.running_mean) * scale + (bn.bias if bn.bias is not None else 0)


def cheaper(gm, a, b):
    """True if one conv costs no more multiply-adds than convs a then b (nodes with shapes)."""
    out_a, out_b = shape_of(a), shape_of(b)
    if out_a is None or out_b is None:
        return False  # no shapes: cannot show it is cheaper, so do not
    ma, mb = module(gm, a), module(gm, b)
    old = math.prod(out_a) * math.prod(ma.weight.shape[1:]) + math.prod(out_b) * math.prod(mb.weight.shape[1:])
    # The one conv reads A's input channels through the larger of the two kernels.
    kernel = ma.weight.shape[2:] if all(k == 1 for k in mb.weight.shape[2:]) else mb.weight.shape[2:]
    return math.prod(out_b) * ma.weight.shape[1] * math.prod(kernel) <= old
