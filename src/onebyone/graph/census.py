"""The census: every 1x1 conv a traced model calls, what it costs and what it is for.

The one place that finds, costs and names a model's pointwise layers: inspect, the blocks'
describe (and so explain --block) and the benchmark's shape suite read their rows from here;
ONNX inspect fills the same rows with the same role rules (roles.py). One row per call (a module
called twice is two rows), in graph order, with the rows of what traces inside a module kept
whole (leaves.py) at that module's place; ``kind`` says what layer a row is: "conv", or
"linear" for an nn.Linear applied to a tensor with spatial or token axes (N, ..., C), which is a
1x1 conv over its last axis (ConvNeXt's MLP, a transformer's q/k/v and MLP projections).
"""
import operator

import torch
from torch import nn

from . import leaves
from .cost import node_macs
from .patterns import as_tuple, is_any_conv, is_pointwise, module
from .roles import feeds_layer, linear_role, rule_role
from .table import make_row
from .trace import shape_of

_ATTENTION = {torch.matmul, torch.bmm, operator.matmul, torch.softmax, nn.functional.softmax,
              nn.functional.scaled_dot_product_attention, "bmm", "matmul", "softmax"}
# ops that only move data: the attention rule looks through them (roles._through_views)
_VIEWS = {operator.getitem, torch.reshape, torch.permute, torch.transpose, torch.unbind,
          torch.chunk, torch.split, torch.flatten, "reshape", "view", "permute", "transpose",
          "unbind", "chunk", "split", "contiguous", "flatten", "unflatten", "squeeze", "unsqueeze"}
_ADDS = {operator.add, torch.add, "add", operator.iadd, "add_"}
_JOINS = {torch.cat, torch.concat, operator.mul, torch.mul, "mul", "mul_"}


class FxView:
    """A shape-propagated GraphModule seen through the four questions of roles.feeds_layer.

    output_feeds_layer: the graph's output is read by a layer outside it (a block or a kept-whole
    part traced alone), so its output node counts as one and nothing inside is a head."""

    def __init__(self, gm, output_feeds_layer=False):
        self.gm, self._nodes, self._output_feeds = gm, list(gm.graph.nodes), output_feeds_layer

    def nodes(self):
        return self._nodes

    def users(self, n):
        return list(n.users)

    def kind(self, n):
        if n.op == "output" and self._output_feeds:
            return "layer"
        m = module(self.gm, n)
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)) or is_any_conv(m):
            return "layer"
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            return "bn"
        target = n.target if n.op in ("call_function", "call_method") else None
        return ("add" if target in _ADDS else "join" if target in _JOINS
                else "attention" if target in _ATTENTION else "view" if target in _VIEWS else None)

    def input_readers(self, n):
        source = n.args[0] if n.args else None
        return len(getattr(source, "users", ()))


def census(gm, declared=None, all_convs=False, output_feeds_layer=False):
    """A row (table.make_row) per 1x1 conv call of ``gm``, which must carry shapes.

    declared: {module path: role} (roles.declared_roles of the model before tracing); a
    declared role wins over the rules. all_convs: k x k conv calls too, with the role
    "depthwise KxK" or "spatial KxK". output_feeds_layer: ``gm`` is a block whose output feeds
    later layers, so a conv that makes its output is not a "head" (the rules go on past it).

    >>> from onebyone.graph.trace import trace, propagate
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(8, 4, 1), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 1))
    >>> rows = census(propagate(trace(net), (torch.randn(1, 8, 5, 5),)))
    >>> [(r["kind"], r["module"], r["input"], r["output"], r["macs"], r["role"]) for r in rows]
    [('conv', '0', [8, 5, 5], [4, 5, 5], 800, 'reduce'), ('conv', '2', [4, 5, 5], [2, 5, 5], 200, 'head')]
    """
    declared = declared or {}
    view = FxView(gm, output_feeds_layer)
    feeds = feeds_layer(view)
    rows = []
    kept = leaves.kept_whole(gm)
    for n in view.nodes():
        m = module(gm, n)
        if n.op == "call_module" and n.target in kept and not (is_any_conv(m) or isinstance(m, nn.Linear)):
            rows += _rows_inside(gm, n.target, declared, all_convs, feeds[n])
            continue
        source = n.args[0] if n.args else None
        shape_in = shape_of(source) if isinstance(source, torch.fx.Node) else None
        if isinstance(m, nn.Linear):
            if len(shape_in or ()) >= 3:  # spatial or token axes: a 1x1 conv on the last axis
                rows.append(_linear_row(gm, view, feeds, n, m, shape_in, declared))
            continue
        if not (is_pointwise(m) or (all_convs and is_any_conv(m))):
            continue
        dims = m.weight.ndim - 2
        stride, out = as_tuple(m.stride, dims), shape_of(n) or ()
        if not is_pointwise(m):
            role = spatial_role(m)
        else:
            role = declared.get(n.target) or rule_role(view, feeds, n, m.in_channels,
                                                       m.out_channels, stride, out)
        rows.append(make_row(n.target, m.in_channels, m.out_channels, m.groups, stride, out[1:],
                             sum(p.numel() for p in m.parameters()), node_macs(gm, n), role,
                             kernel=tuple(m.weight.shape[2:]), input=(shape_in or ())[1:]))
    return rows


def _rows_inside(gm, leaf, declared, all_convs, feeds_on):
    """The rows of the parts inside a kept-whole module (leaves.py), under the paths users
    know, once per call of each part. A part is seen alone, so whether its output feeds later
    layers (feeds_on) is said from outside."""
    rows = []
    for prefix, part in leaves.parts(gm, leaf):
        inner = {k[len(prefix) + 1:]: v for k, v in declared.items() if k.startswith(prefix + ".")}
        for r in census(part, inner, all_convs, feeds_on) * part.meta.get("calls", 1):
            rows.append({**r, "module": leaves.row_path(prefix, part, r["module"])})
    return rows


def _linear_row(gm, view, feeds, n, m, shape_in, declared):
    """A Linear on (N, ..., C) rows like a 1x1 conv; shapes stay as the layer sees them
    (channels last). The rules read its output as (N, C, ...)."""
    out = shape_of(n) or ()
    dims = len(shape_in) - 2
    as_conv = (out[0], out[-1], *out[1:-1]) if out else ()
    role = declared.get(n.target) or rule_role(view, feeds, n, m.in_features, m.out_features,
                                               (1,) * dims, as_conv)
    role = linear_role(role, m.in_features, m.out_features)
    return make_row(n.target, m.in_features, m.out_features, 1, (1,) * dims, out[1:],
                    sum(p.numel() for p in m.parameters()), node_macs(gm, n), role,
                    kind="linear", kernel=(1,) * dims, input=shape_in[1:])


def spatial_role(conv):
    """'depthwise 3x3' or 'spatial 3x3': what a k x k conv in a table of 1x1 convs is."""
    depthwise = conv.groups == conv.in_channels and conv.groups > 1
    kernel = "x".join(map(str, conv.weight.shape[2:]))
    return f"{'depthwise' if depthwise else 'spatial'} {kernel}"
