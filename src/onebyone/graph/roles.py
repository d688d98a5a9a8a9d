"""What a 1x1 conv is for, read off the graph around it.

attention:  its output is 1x1 spatially (squeeze-and-excitation) or soon feeds a matmul/softmax;
head:       nothing after it is a conv or linear layer, nor an add / cat / mul joining it with
            other branches (it makes the model's output: a classifier, a detector's head);
projection: it has a stride, or it sits on a shortcut (its input feeds other layers and its
            output, maybe through BatchNorm, goes straight into an add);
reduce / expand / mix: Cout < Cin, Cout > Cin, Cout == Cin.
"""
import math
import operator

import torch
from torch import nn

from .patterns import is_bn, is_conv, module
from .trace import shape_of

_ATTENTION_OPS = {torch.matmul, torch.bmm, operator.matmul, torch.softmax,
                  nn.functional.softmax, "bmm", "matmul", "softmax"}
_ADDS = {operator.add, torch.add, "add", operator.iadd, "add_"}
_JOINS = _ADDS | {torch.cat, torch.concat, operator.mul, torch.mul, "mul", "mul_"}


def channel_role(cin, cout):
    """reduce, expand or mix by channel counts.

    >>> channel_role(192, 64), channel_role(64, 256), channel_role(64, 64)
    ('reduce', 'expand', 'mix')
    """
    return "reduce" if cout < cin else "expand" if cout > cin else "mix"


def roles(gm):
    """{node: role} for every 1x1 conv node; gm must carry shapes."""
    feeds_layer = _feeds_layer(gm)
    out = {}
    for n in gm.graph.nodes:
        m = module(gm, n)
        if not is_conv(m) or any(k != 1 for k in m.weight.shape[2:]):
            continue
        shape, stride = shape_of(n), m.stride if isinstance(m.stride, tuple) else (m.stride,)
        if (shape and len(shape) > 2 and math.prod(shape[2:]) == 1) or _near(n, _ATTENTION_OPS):
            out[n] = "attention"
        elif not feeds_layer[n]:
            out[n] = "head"
        elif any(s != 1 for s in stride) or _on_shortcut(gm, n):
            out[n] = "projection"
        else:
            out[n] = channel_role(m.in_channels, m.out_channels)
    return out


def _feeds_layer(gm):
    """{node: True if a conv, a linear layer or a join of branches is downstream of it}."""
    feeds = {}
    for n in reversed(gm.graph.nodes):
        feeds[n] = any(feeds[u] or is_conv(module(gm, u)) or isinstance(module(gm, u), nn.Linear)
                       or _target(u) in _JOINS for u in n.users)
    return feeds


def _target(n):
    return n.target if n.op in ("call_function", "call_method") else None


def _near(n, ops, hops=3):
    frontier = list(n.users)
    for _ in range(hops):
        if any(_target(u) in ops for u in frontier):
            return True
        frontier = [v for u in frontier for v in u.users]
    return False


def _on_shortcut(gm, n):
    source = n.args[0] if n.args else None
    if source is None or len(getattr(source, "users", ())) < 2:
        return False
    users = list(n.users)
    if len(users) == 1 and is_bn(module(gm, users[0])):
        users = list(users[0].users)
    return len(users) == 1 and _target(users[0]) in _ADDS
