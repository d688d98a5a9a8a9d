"""Fold an eval-mode BatchNorm into the conv before it: y = s * (W x + b - mean) + beta."""
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ..patterns import CHAINS, match_chain
from ._rewrite import (called_once, clone, finish, keep_requires_grad, module, report, requires_grad,
                       set_module)


def fold_bn(gm):
    """A copy of gm with each conv -> BatchNorm pair (eval mode) replaced by one conv.

    Skipped: a conv whose output has another user (it would see the folded values), a conv
    or BatchNorm module called from more than one place, and a pair whose parameters differ in
    requires_grad (the fused weight cannot be both frozen and trainable).

    >>> import torch
    >>> from onebyone.graph.trace import trace
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4)).eval()
    >>> gm, rep = fold_bn(trace(model))
    >>> rep["changed"], [type(m).__name__ for m in gm.children()]
    (1, ['Conv2d'])
    """
    gm = clone(gm)
    done, skipped = [], []
    for conv_node, bn_node in match_chain(gm, *CHAINS["conv -> bn"], shape_reads=True):
        if not called_once(gm, conv_node, bn_node):
            skipped.append(f"{conv_node.target} -> {bn_node.target}: module called more than once")
            continue
        flag = requires_grad(module(gm, conv_node), module(gm, bn_node))
        if flag is None:
            skipped.append(f"{conv_node.target} -> {bn_node.target}: parameters differ in requires_grad")
            continue
        # torch's fusion makes a missing conv bias a frozen one: every parameter gets the flag
        fused = keep_requires_grad(fuse_conv_bn_eval(module(gm, conv_node), module(gm, bn_node)), flag)
        set_module(gm, conv_node.target, fused)
        bn_node.replace_all_uses_with(conv_node)
        gm.graph.erase_node(bn_node)
        done.append(f"{bn_node.target} folded into {conv_node.target}")
    return finish(gm), report("fold_bn", done, skipped)
