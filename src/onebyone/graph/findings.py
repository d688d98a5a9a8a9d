"""Findings: what in a model's 1x1 convs is redundant, as plain dicts.

foldable_bn:     conv -> BatchNorm (eval), or a channel cat of convs -> BatchNorm, that fold_bn
                 removes (its other exact forms, Linear -> BN and BN -> conv, are not listed);
linear_chain:    1x1 -> 1x1, k x k -> 1x1 or 1x1 -> k x k with nothing (or only BatchNorm)
                 between, or Linear -> Linear; says whether one layer would be cheaper
                 (collapse does those);
parallel:        1x1 convs, or Linear layers, reading the same tensor (merge_parallel makes
                 them one);
rank_1:          a 1x1 conv with one input channel: every output channel is a scaled copy of
                 the input plus a bias;
rank_deficient:  numerical rank (SVD, numpy's matrix_rank threshold) below min(Cout, Cin).

Analysis only: nothing here rewrites or imports a pass (chains.py holds what collapse also uses).
"""
import torch

from . import chains
from .leaves import row_path, walk
from .patterns import (CHAINS, cat_of_layers, is_1x1, is_bn, is_linear, is_pointwise, match_chain,
                       match_siblings, module)


def findings(gm):
    """A list of {'kind', 'modules', 'detail'} for a shape-propagated GraphModule, and for the
    parts traced inside its kept-whole modules (leaves.walk), under the paths users know."""
    found = _in_graph(gm)
    for prefix, part, _ in walk(gm):
        found += [{**f, "modules": [row_path(prefix, part, t) for t in f["modules"]]}
                  for f in _in_graph(part)]
    return found


def _in_graph(gm):
    found = [{"kind": "foldable_bn", "modules": [a.target, b.target], "detail": "BatchNorm folds into the conv"}
             for a, b in match_chain(gm, *CHAINS["conv -> bn"], shape_reads=True)]
    for bn in [n for n in gm.graph.nodes if is_bn(module(gm, n))]:
        convs, why = cat_of_layers(gm, bn) or (None, "no cat")
        if why is None:  # timm's MixedConv2d: one conv per channel split, then cat
            found.append({"kind": "foldable_bn", "modules": [*(c.target for c in convs), bn.target],
                          "detail": "BatchNorm after the cat folds into each conv, a channel slice each"})
    for pattern, a, bn, b in chains.chains(gm):
        why = chains.why_not(module(gm, a), module(gm, b), pattern, bn and module(gm, bn))
        one = "one Linear" if pattern == "linear -> linear" else "one conv"
        verdict = why or (f"{one} is cheaper" if chains.cheaper(gm, a, b)
                          else f"{one} would cost more multiply-adds (a bottleneck)")
        found.append({"kind": "linear_chain", "modules": [a.target, b.target],
                      "detail": f"{pattern}: {verdict}"})
    for nodes in match_siblings(gm):
        found.append({"kind": "parallel", "modules": [n.target for n in nodes],
                      "detail": f"{len(nodes)} {_siblings(gm, nodes[0])} can do all"})
    for n in gm.graph.nodes:
        m = module(gm, n)
        if is_pointwise(m) and m.groups == 1:  # a reflect-padded 1x1 has a rank too
            found.extend(rank_findings(n.target, m.weight.detach()))
    return found


def _siblings(gm, node):
    what = ("Linear layers", "one Linear") if is_linear(module(gm, node)) else ("1x1 convs", "one conv")
    return f"{what[0]} read {node.args[0].name}; {what[1]}"


def rank_findings(name, weight):
    """rank_1 / rank_deficient findings for one 1x1 weight (Cout, Cin, 1, ...).

    >>> w = torch.ones(4, 3, 1, 1)  # every output channel the same sum: rank 1 of 3
    >>> rank_findings("conv", w)[0]["detail"]
    'numerical rank 1 of 3: low_rank can factor it'
    """
    w = torch.tensor(weight).double() if not isinstance(weight, torch.Tensor) else weight.double()
    w = w.reshape(weight.shape[0], -1)
    cout, cin = w.shape
    if cin == 1:
        return [{"kind": "rank_1", "modules": [name],
                 "detail": f"1 input channel: the {cout} outputs are scaled copies of the input plus a bias"}]
    s = torch.linalg.svdvals(w)
    # numpy.linalg.matrix_rank's threshold, with the weights' own float32 precision
    rank = int((s > s[0] * max(cout, cin) * torch.finfo(torch.float32).eps).sum()) if s[0] > 0 else 0
    if rank < min(cout, cin):
        return [{"kind": "rank_deficient", "modules": [name],
                 "detail": f"numerical rank {rank} of {min(cout, cin)}: low_rank can factor it"}]
    return []
