"""Parameters and multiply-adds (MACs) of a shape-propagated GraphModule.

MACs count conv and linear layers only (one multiply-add per weight use); elementwise ops,
pooling and BatchNorm are not counted, as in the MobileNet and ShuffleNet papers.
"""
import math

from torch import nn

from .patterns import is_any_conv, module
from .trace import shape_of


def layer_macs(output_shape, per_output):
    """Multiply-adds of a layer: one per output element per reduced input element.

    per_output is Cin/groups x kernel taps for a conv, in_features for a Linear or a matmul.

    >>> layer_macs((1, 4, 5, 5), 8 * 1 * 1)   # a 1x1 conv, 8 -> 4 channels on 5x5
    800
    """
    return math.prod(output_shape) * per_output


def node_macs(gm, node):
    """Multiply-adds of one call_module conv or linear node (0 for anything else)."""
    m, out = module(gm, node), shape_of(node)
    if out is None:
        return 0
    if is_any_conv(m):
        # each output element reads Cin/groups channels through a kernel of prod(k) taps
        return layer_macs(out, math.prod(m.weight.shape[1:]))
    if isinstance(m, nn.Linear):
        return layer_macs(out, m.in_features)
    return 0


def totals(gm):
    """{'params': ..., 'macs': ...} for the whole model (shapes must be propagated).

    >>> import torch
    >>> from onebyone.graph.trace import trace, propagate
    >>> gm = propagate(trace(torch.nn.Sequential(torch.nn.Conv2d(8, 4, 1))), (torch.randn(1, 8, 5, 5),))
    >>> totals(gm)
    {'params': 36, 'macs': 800}
    """
    params = sum(p.numel() for p in gm.parameters())  # each once, however often it is used
    return {"params": params, "macs": macs(gm)}


def macs(gm):
    """Multiply-adds of every call in gm, and of the parts traced inside its kept-whole
    modules (leaves.py), each times its calls."""
    from .leaves import walk

    graphs = [(gm, 1)] + [(part, calls) for _, part, calls in walk(gm)]
    return sum(node_macs(g, n) * calls for g, calls in graphs for n in g.graph.nodes)
