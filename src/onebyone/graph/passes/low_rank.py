"""Opt-in, lossy: replace a 1x1 conv W (Cout x Cin) by two, Cin -> r -> Cout, from its SVD.

W ~= (U_r S_r) @ V_r^T keeps the r largest singular values, chosen as `rank` or as the fewest
holding `energy` of sum(s^2). A layer is changed only if r * (Cin + Cout) < Cin * Cout.
The report gives each layer's relative weight error ||W - W_r||_F / ||W||_F.
"""
import torch

from ..._axes import conv_module
from ...errors import OneByOneError

from ..patterns import is_1x1
from ._rewrite import (MIXED_GRAD, called_once, clone, finish, free_name, keep_requires_grad, module,
                       report, requires_grad, set_module)


def low_rank(gm, rank=None, energy=0.999):
    """A copy of gm with each 1x1 conv (groups=1) factored where that saves parameters.

    >>> from onebyone.graph.trace import trace
    >>> conv = torch.nn.Conv2d(16, 16, 1)
    >>> with torch.no_grad():
    ...     _ = conv.weight.copy_((torch.randn(16, 2) @ torch.randn(2, 16)).reshape(16, 16, 1, 1))
    >>> gm, rep = low_rank(trace(torch.nn.Sequential(conv)))
    >>> rep["details"][0].split(":")[0]
    '0 (16 -> 16) at rank 2'
    """
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 1):
        raise OneByOneError(f"expected rank to be a positive integer; got {rank!r}")
    gm = clone(gm)
    done, skipped = [], []
    for node in list(gm.graph.nodes):
        m = module(gm, node)
        if not (is_1x1(m) and m.groups == 1 and called_once(gm, node)):
            continue
        flag = requires_grad(m)
        if flag is None:
            skipped.append(f"{node.target}: {MIXED_GRAD}")
            continue
        w = m.weight.detach().double().flatten(1)  # (Cout, Cin)
        u, s, vt = torch.linalg.svd(w, full_matrices=False)
        r = rank or int((torch.cumsum(s**2, 0) / (s**2).sum() < energy).sum()) + 1
        r = min(r, len(s))
        cout, cin = w.shape
        if r * (cin + cout) >= cin * cout:
            skipped.append(f"{node.target} ({cin} -> {cout}): rank {r} saves nothing")
            continue
        error = float(s[r:].square().sum().sqrt() / s.square().sum().sqrt())
        first, second = (keep_requires_grad(c, flag) for c in _pair(m, vt[:r], u[:, :r] * s[:r]))
        name = free_name(gm, node.target + "_lowrank")
        gm.add_submodule(name, first)
        set_module(gm, node.target, second)
        with gm.graph.inserting_before(node):
            node.args = (gm.graph.call_module(name, node.args),)
        done.append(f"{node.target} ({cin} -> {cout}) at rank {r}: weight error {error:.2e}")
    return finish(gm), report("low_rank", done, skipped)


@torch.no_grad()
def _pair(m, v, us):
    """Cin -> r with m's stride and padding, then r -> Cout with m's bias."""
    dims, k = m.weight.ndim - 2, (1,) * (m.weight.ndim - 2)
    conv = conv_module(dims)
    kw = dict(device=m.weight.device, dtype=m.weight.dtype)
    first = conv(v.shape[1], v.shape[0], k, stride=m.stride, padding=m.padding, bias=False, **kw)
    second = conv(us.shape[1], us.shape[0], k, bias=m.bias is not None, **kw)
    first.weight.copy_(v.reshape(first.weight.shape))
    second.weight.copy_(us.reshape(second.weight.shape))
    if m.bias is not None:
        second.bias.copy_(m.bias)
    return first.train(m.training), second.train(m.training)
