"""Fold eval-mode BatchNorms (an affine map per channel, passes/_bn_math.py) into the layer
beside them, in every exact form:

- conv -> BN: into the conv's output channels;
- cat of convs -> BN (timm's MixedConv2d splits the channels, runs one conv per split and
  concatenates): each channel slice of the BN into the conv that made it;
- Linear -> BN1d on (N, C), or Linear on (N, L, C) -> transpose to (N, C, L) -> BN1d: into
  the Linear's rows;
- BN -> conv with nothing between (a pre-activation norm): into the conv's input channels.
  Exact when the conv pads nothing or pads by copying values (reflect, replicate, circular);
  with zero padding only when the BN's shift is zero on every channel: the border the conv
  read as 0 would otherwise read as the shift.
"""
import torch

from ..patterns import CHAINS, cat_of_layers, is_bn, is_linear, match_chain, pads, torch_conv, value_users
from ..trace import shape_of
from ._bn_math import affine, into_input, into_output
from ._rewrite import called_once, clone, finish, keep_requires_grad, module, report, requires_grad, set_module

def fold_bn(gm):
    """A copy of gm with each eval BatchNorm that sits beside a conv or Linear (the forms above)
    folded into it.

    Skipped, with the reason in the report: a layer's output with another reader (it would see
    the folded values), a module called from more than one place, parameters that differ in
    requires_grad (one fused tensor cannot be both frozen and trainable), and the inexact forms.

    >>> from onebyone.graph.trace import trace
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4)).eval()
    >>> gm, rep = fold_bn(trace(model))
    >>> rep["changed"], [type(m).__name__ for m in gm.children()]
    (1, ['Conv2d'])
    """
    gm = clone(gm)
    done, skipped = [], []
    for form in (_after_conv, _after_cat, _after_linear, _before_conv):
        form(gm, done, skipped)
    return finish(gm), report("fold_bn", done, skipped)


def _blocked(gm, nodes):
    """Why these call_module nodes' modules cannot be fused into one set of weights, or None;
    else their shared requires_grad flag."""
    if not called_once(gm, *nodes):
        return "module called more than once", None
    flag = requires_grad(*(module(gm, n) for n in nodes))
    return ("parameters differ in requires_grad", None) if flag is None else (None, flag)


def _drop(gm, bn_node, into):
    """The BatchNorm call removed: its readers read ``into`` (what now computes its values)."""
    bn_node.replace_all_uses_with(into)
    gm.graph.erase_node(bn_node)


def _after_conv(gm, done, skipped):
    for conv, bn in match_chain(gm, *CHAINS["conv -> bn"], shape_reads=True):
        why, flag = _blocked(gm, [conv, bn])
        if why:
            skipped.append(f"{conv.target} -> {bn.target}: {why}")
            continue
        set_module(gm, conv.target, keep_requires_grad(into_output(module(gm, conv), module(gm, bn)), flag))
        _drop(gm, bn, conv)
        done.append(f"{bn.target} folded into {conv.target}")


def _after_cat(gm, done, skipped):
    for bn in [n for n in gm.graph.nodes if is_bn(module(gm, n))]:
        found = cat_of_layers(gm, bn)
        if found is None:
            continue
        parts, why = found
        if not why and sum(module(gm, p).weight.shape[0] for p in parts) != module(gm, bn).num_features:
            why = "the convs' channels do not add up to the BatchNorm's"
        why, flag = (why, None) if why else _blocked(gm, [*parts, bn])
        if why:
            skipped.append(f"cat -> {bn.target}: {why}")
            continue
        start = 0
        for part in parts:
            conv = module(gm, part)
            width = conv.weight.shape[0]
            fused = into_output(conv, module(gm, bn), slice(start, start + width))
            set_module(gm, part.target, keep_requires_grad(fused, flag))
            start += width
        _drop(gm, bn, bn.args[0])
        done.append(f"{bn.target} folded into {', '.join(p.target for p in parts)} (a slice each)")


def _after_linear(gm, done, skipped):
    for linear in [n for n in gm.graph.nodes if is_linear(module(gm, n))]:
        bn, why = _bn_after_linear(gm, linear)
        if bn is None:
            continue
        why, flag = (why, None) if why else _blocked(gm, [linear, bn])
        if why:
            skipped.append(f"{linear.target} -> {bn.target}: {why}")
            continue
        set_module(gm, linear.target, keep_requires_grad(into_output(module(gm, linear), module(gm, bn)), flag))
        _drop(gm, bn, bn.args[0])
        done.append(f"{bn.target} folded into {linear.target}")


def _bn_after_linear(gm, linear):
    """(the BatchNorm call the Linear's output reaches alone, why it cannot fold or None), or
    (None, None) when there is none."""
    users = value_users(linear)
    if len(users) != 1:
        return None, None
    (user,) = users
    if _bn_reading(gm, user):  # exact on (N, C) only: there BN's axis 1 is the features
        rank = len(shape_of(linear) or ())
        return user, None if rank == 2 else (
            f"its output has rank {rank}: the BatchNorm normalises axis 1, not the Linear's "
            "features" if rank else "its output's rank is not recorded")
    after = value_users(user)
    if _swaps_last_two_of_3d(user) and len(after) == 1 and _bn_reading(gm, after[0]):
        return after[0], None
    return None, None


def _bn_reading(gm, node):
    """True if node is a BatchNorm call on one input."""
    return is_bn(module(gm, node)) and len(node.args) == 1 and not node.kwargs


def _swaps_last_two_of_3d(node):
    """x.transpose(1, 2), torch.transpose(x, -1, -2), x.permute(0, 2, 1) on an (N, L, C) x:
    the Linear's features become axis 1, the one BatchNorm1d normalises."""
    x = node.args[0] if node.args else None
    if node.kwargs or not isinstance(x, torch.fx.Node) or len(shape_of(x) or ()) != 3:
        return False
    rest = node.args[1:]
    dims = rest[0] if len(rest) == 1 and isinstance(rest[0], (tuple, list)) else rest
    if not all(isinstance(d, int) for d in dims):
        return False
    dims = [d % 3 for d in dims]
    if node.target is torch.permute or (node.op, node.target) == ("call_method", "permute"):
        return dims == [0, 2, 1]
    if node.target is torch.transpose or (node.op, node.target) == ("call_method", "transpose"):
        return sorted(dims) == [1, 2]
    return False


def _before_conv(gm, done, skipped):
    for bn, conv in match_chain(gm, is_bn, torch_conv, shape_reads=True):
        c = module(gm, conv)
        why = None
        if pads(c) and c.padding_mode == "zeros" and not bool((affine(module(gm, bn))[1] == 0).all()):
            why = (f"the BatchNorm's shift is not zero and {conv.target} pads with zeros: the border "
                   "it reads as 0 would read as the shift")
        why, flag = (why, None) if why else _blocked(gm, [bn, conv])
        if why:
            skipped.append(f"{bn.target} -> {conv.target}: {why}")
            continue
        set_module(gm, conv.target, keep_requires_grad(into_input(c, module(gm, bn)), flag))
        _drop(gm, bn, bn.args[0])
        done.append(f"{bn.target} folded into {conv.target} (its input channels)")

