"""Merge 1x1 convs that read the same tensor into one wider conv, then slice its output.

Inception's 1x1 branches, a ResNet block's first 1x1 and its projection shortcut, attention's
query/key/value (1x1 convs, or Linear layers on tokens: one wider Linear): one GEMM of
N = sum(Cout) instead of several narrow ones, same multiply-adds. Siblings whose shared input is
written in place after the first of them reads it are not matched (patterns.match_siblings).
Each branch gets a copy of its channels, y[:, a:b].clone(), not a view: views of one tensor
share an autograd version counter, so the in-place ReLUs of Inception's branches would break each
other's backward (and torch.onnx.export, which traces with autograd on). The copy is one pass
over the merged output, small next to the GEMM (Cin multiply-adds per element); on googlenet at
224x224 the timing difference was inside this machine's noise.
"""
import itertools

import operator

import torch

from ...nn import Conv1x1
from ..patterns import bias_or_zeros, match_siblings
from ._rewrite import (MIXED_GRAD, called_once, clone, finish, free_name, keep_requires_grad, module,
                       report, requires_grad)


def merge_parallel(gm):
    """A copy of gm where each group of sibling 1x1 convs is one conv, sliced per branch.

    >>> from onebyone.graph.trace import trace
    >>> class Two(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.a, self.b = torch.nn.Conv2d(8, 3, 1), torch.nn.Conv2d(8, 5, 1)
    ...     def forward(self, x):
    ...         return self.a(x) * 2 + self.b(x)[:, :3]
    >>> gm, rep = merge_parallel(trace(Two()))
    >>> rep["changed"], gm.get_submodule(rep["modules"][0]).out_channels
    (1, 8)
    """
    gm = clone(gm)
    done, names, skipped = [], [], []
    order = {n: i for i, n in enumerate(gm.graph.nodes)}
    for nodes in match_siblings(gm):
        nodes.sort(key=order.get)
        convs = [module(gm, n) for n in nodes]
        why = _why_not(gm, nodes, convs)
        if why:
            skipped.append(f"{', '.join(n.target for n in nodes)}: {why}")
            continue
        kind = "merged_linear" if isinstance(convs[0], torch.nn.Linear) else "merged1x1"
        name = free_name(gm, _common_prefix([n.target for n in nodes]) + kind)
        gm.add_submodule(name, keep_requires_grad(_merged(convs), requires_grad(*convs)))
        with gm.graph.inserting_before(nodes[0]):  # before every user of every sibling
            merged = gm.graph.call_module(name, (nodes[0].args[0],))
            ends = list(itertools.accumulate(_width(m) for m in convs))
            # a conv's channels are axis 1, a Linear's the last axis
            axis = (...,) if isinstance(convs[0], torch.nn.Linear) else (slice(None),)
            items = [gm.graph.call_method("clone", (gm.graph.call_function(
                         operator.getitem, (merged, axis + (slice(a, b),))),))
                     for a, b in zip([0] + ends[:-1], ends)]
        for n, item in zip(nodes, items):
            n.replace_all_uses_with(item)
            gm.graph.erase_node(n)
        names.append(name)
        done.append(f"{', '.join(n.target for n in nodes)} merged into {name}")
    gm = finish(gm)
    rep = report("merge_parallel", done, skipped)
    rep.modules = names
    return gm, rep


def _why_not(gm, nodes, convs):
    if not called_once(gm, *nodes):
        return "a module is called more than once"
    if requires_grad(*convs) is None:
        return MIXED_GRAD
    return ""


@torch.no_grad()
def _merged(convs):
    """One conv whose output channels are the convs' output channels, in order."""
    first = convs[0]
    weight = torch.cat([m.weight for m in convs])
    biases = [bias_or_zeros(m) for m in convs]
    if isinstance(first, torch.nn.Linear):
        new = torch.nn.Linear(first.in_features, weight.shape[0], device=weight.device,
                              dtype=weight.dtype)
        new.weight.copy_(weight)
        new.bias.copy_(torch.cat(biases))
        return new.train(first.training)
    dims = first.weight.ndim - 2
    if any(isinstance(m, Conv1x1) for m in convs):
        cls, extra = Conv1x1, {"dims": dims}
    else:
        cls, extra = type(first), {}
    new = cls(first.in_channels, weight.shape[0], 1, stride=first.stride, padding=first.padding,
              device=weight.device, dtype=weight.dtype, **extra)
    new.weight.copy_(weight)
    new.bias.copy_(torch.cat(biases))
    return new.train(first.training)


def _width(m):
    return m.out_features if isinstance(m, torch.nn.Linear) else m.out_channels


def _common_prefix(targets):
    """'a.b.' for ['a.b.c', 'a.b.d.e']: the merged conv lives in the siblings' common parent."""
    parts = [t.split(".")[:-1] for t in targets]
    common = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return "".join(p + "." for p in common)
