"""An eval BatchNorm is an affine map per channel, y = s * x + t; folding it into the layer
before it (its output channels) or the conv after it (its input channels).

s = gamma / sqrt(var + eps) and t = beta - mean * s (gamma 1 and beta 0 without affine).
"""
import copy

import torch
from torch.nn.utils.fusion import fuse_conv_bn_weights


def affine(bn):
    """(s, t) of an eval BatchNorm, in float64: y = s[c] * x + t[c] on channel c.

    >>> bn = torch.nn.BatchNorm1d(2).eval()
    >>> s, t = affine(bn)
    >>> torch.allclose(bn(torch.ones(1, 2)).double(), s + t)
    True
    """
    mean, var = bn.running_mean.double(), bn.running_var.double()
    gamma = bn.weight.double() if bn.weight is not None else torch.ones_like(mean)
    beta = bn.bias.double() if bn.bias is not None else torch.zeros_like(mean)
    s = gamma / torch.sqrt(var + bn.eps)
    return s, beta - mean * s


def into_output(layer, bn, channels=slice(None)):
    """A copy of ``layer`` (a conv, or a Linear: its weight is (out, in)) that computes
    ``bn`` restricted to ``channels`` applied to its output: W' = s W row by row,
    b' = s (b - mean) + beta."""
    def part(t):
        return None if t is None else t[channels]

    new = copy.deepcopy(layer)
    new.weight, new.bias = fuse_conv_bn_weights(layer.weight, layer.bias, bn.running_mean[channels],
                                                bn.running_var[channels], bn.eps, part(bn.weight),
                                                part(bn.bias))
    return new


def into_input(conv, bn):
    """A copy of ``conv`` that computes conv(bn(x)) from x itself, where the conv pads nothing
    or pads by copying values (an affine map per channel commutes with copying):
    W'[o, i] = W[o, i] s[c], b'[o] = b[o] + sum over i and the kernel of W[o, i] t[c], c being
    the input channel weight i of output o reads (with groups, i of o's group)."""
    s, t = affine(bn)
    w = conv.weight.double()  # (O, Cin / groups, *kernel)
    out, per_group = w.shape[:2]
    # (O, Cin / groups): the input channel's s and t that each weight column multiplies
    s_read = s.view(conv.groups, per_group).repeat_interleave(out // conv.groups, dim=0)
    t_read = t.view(conv.groups, per_group).repeat_interleave(out // conv.groups, dim=0)
    spread = (out, per_group) + (1,) * (w.ndim - 2)
    bias = conv.bias.double() if conv.bias is not None else torch.zeros(out, dtype=torch.float64, device=w.device)
    new = copy.deepcopy(conv)
    dtype = conv.weight.dtype
    new.weight = torch.nn.Parameter((w * s_read.view(spread)).to(dtype))
    new.bias = torch.nn.Parameter((bias + (w * t_read.view(spread)).flatten(1).sum(1)).to(dtype))
    return new
