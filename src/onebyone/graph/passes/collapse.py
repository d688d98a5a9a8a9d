"""Collapse two convs with nothing between them into one: both are linear maps of the input.

1x1 then 1x1, k x k then 1x1, Linear then Linear: always exact. 1x1 (A) then k x k (B): exact when B pads nothing or
A has no bias; otherwise B's zero padding would meet A's bias at the borders, where the single
conv would see zeros instead, so that case is skipped. By default a chain is collapsed only if
the single conv costs no more multiply-adds than the two (a 1x1 bottleneck is often cheaper).
"""
import torch
from torch import nn

from ..._axes import conv_module
from ..chains import chains, cheaper, why_not
from ..patterns import as_tuple, bias_or_zeros
from ._rewrite import (MIXED_GRAD, called_once, clone, finish, keep_requires_grad, module, report,
                       requires_grad, set_module)



def collapse(gm, only_if_cheaper=True):
    """A copy of gm with linear conv chains (see chains.py) collapsed into one conv.

    gm must carry shapes (onebyone.graph.trace.propagate) for the cost check.

    >>> from onebyone.graph.trace import trace, propagate
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(8, 32, 1), torch.nn.Conv2d(32, 4, 1))
    >>> gm, rep = collapse(propagate(trace(model), (torch.randn(1, 8, 6, 6),)))
    >>> rep["changed"], gm.get_submodule("1").weight.shape
    (1, torch.Size([4, 8, 1, 1]))
    """
    gm = clone(gm)
    done, skipped = [], set()
    while True:
        pair = _next_pair(gm, only_if_cheaper, skipped)
        if pair is None:
            return finish(gm), report("collapse", done, sorted(skipped))
        a, b, new = pair
        set_module(gm, b.target, new)  # B's node now computes both, reading A's input
        b.args = (a.args[0],)
        gm.graph.erase_node(a)
        done.append(f"{a.target} -> {b.target} collapsed into {b.target}")


def _next_pair(gm, only_if_cheaper, skipped):
    # fold_bn runs first: chains through BatchNorm are left to it.
    for pattern, a, _, b in chains(gm, through_bn=False):
        ma, mb = module(gm, a), module(gm, b)
        why = why_not(ma, mb, pattern) or ("" if called_once(gm, a, b) else "module shared")
        if not why and requires_grad(ma, mb) is None:
            why = MIXED_GRAD
        if not why and only_if_cheaper and not cheaper(gm, a, b):
            why = "one conv would cost more multiply-adds than the two"
        if why:
            skipped.add(f"{a.target} -> {b.target}: {why}")
        else:
            return a, b, keep_requires_grad(compose(ma, mb), requires_grad(ma, mb))
    return None


@torch.no_grad()
def compose(ma, mb):
    """One conv computing mb(ma(x)): weights multiplied over the middle channels."""
    if isinstance(ma, nn.Linear):  # (O, M) @ (M, I): a Linear chain is a 1x1 -> 1x1 chain
        return _linear(mb.weight.double() @ ma.weight.double(),
                       mb.weight.double() @ bias_or_zeros(ma).double() + bias_or_zeros(mb).double(), ma)
    dims = ma.weight.ndim - 2
    wa, wb = ma.weight.double(), mb.weight.double()
    ba, bb = bias_or_zeros(ma).double(), bias_or_zeros(mb).double()
    if all(k == 1 for k in wb.shape[2:]):  # A (any kernel) then 1x1 B: (O, M) @ (M, I, *k)
        weight = torch.einsum("om,mi...->oi...", wb.flatten(1), wa)
        bias = wb.flatten(1) @ ba + bb
        stride = tuple(s * t for s, t in zip(as_tuple(ma.stride, dims), as_tuple(mb.stride, dims)))
        geometry, template = dict(stride=stride, padding=ma.padding, dilation=ma.dilation), ma
    else:  # 1x1 A then k x k B: (O, M, *k) with (M, I)
        weight = torch.einsum("om...,mi->oi...", wb, wa.flatten(1))
        bias = wb.sum(dim=tuple(range(2, wb.ndim))) @ ba + bb
        geometry, template = dict(stride=mb.stride, padding=mb.padding, dilation=mb.dilation), mb
    new = conv_module(dims)(weight.shape[1], weight.shape[0], tuple(weight.shape[2:]), **geometry,
                      device=wa.device, dtype=ma.weight.dtype)
    new.weight.copy_(weight)
    new.bias.copy_(bias)
    new.train(template.training)
    return new


def _linear(weight, bias, template):
    new = nn.Linear(weight.shape[1], weight.shape[0], device=template.weight.device,
                    dtype=template.weight.dtype)
    new.weight.copy_(weight)
    new.bias.copy_(bias)
    return new.train(template.training)
