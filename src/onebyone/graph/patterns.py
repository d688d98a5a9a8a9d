"""What the passes and the findings look for, as data, and the two matchers that find it.

A chain is a node whose only user is the next node of the pattern, reading it as its input; any
other user of the intermediate output (or any op between, such as a ReLU) breaks the match.
Siblings are 1x1 convs reading the same tensor with the same stride, padding and dims, or Linear
layers reading the same tensor (a Linear is a 1x1 conv over the last axis).
"""
from collections import defaultdict

import torch
from torch import nn

from ..nn import Conv1x1
from .inplace import written_in_place

CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, Conv1x1)
_STOCK_FORWARDS = {c.forward for c in CONVS}


def module(gm, node):
    """The module a call_module node calls, else None."""
    return gm.get_submodule(node.target) if node.op == "call_module" else None


def is_any_conv(m):
    """A plain (not transposed) conv, whatever its padding_mode; Conv1x1 included. What the
    census and the costs count (a reflect-padded conv costs what any conv costs)."""
    return isinstance(m, CONVS)


def torch_conv(m):
    """A conv computing just its conv: torch's (or Conv1x1's) forward, not a subclass's own
    (timm's Conv2dSame pads by the input's size, StdConv2d standardises its weight in forward:
    folding into or rebuilding those would change what they compute)."""
    return is_any_conv(m) and type(m).forward in _STOCK_FORWARDS


def is_conv(m):
    """A conv the rewrites may rebuild: torch_conv, padding with zeros or padding nothing (then
    padding_mode changes nothing). A rebuilt conv pads with zeros: a reflect-padded one stays."""
    return torch_conv(m) and (m.padding_mode == "zeros" or not pads(m))


def is_pointwise(m):
    """Any conv with a 1x1 kernel (counted by the census, whatever its padding_mode)."""
    return is_any_conv(m) and all(k == 1 for k in as_tuple(m.kernel_size, m.weight.ndim - 2))


def is_1x1(m):
    """A 1x1 conv the rewrites may rebuild (is_conv)."""
    return is_conv(m) and is_pointwise(m)


def pads(m):
    """True if the conv pads its input at all (a padding string other than "valid", or a
    nonzero padding)."""
    return isinstance(m.padding, str) and m.padding != "valid" or \
        any(p != 0 for p in as_tuple(m.padding, m.weight.ndim - 2))


def is_linear(m):
    """nn.Linear computing just that (torch's forward): on a tensor with spatial or token axes,
    a 1x1 conv over its last axis."""
    return isinstance(m, nn.Linear) and type(m).forward is nn.Linear.forward


def is_kxk(m):
    return is_conv(m) and not is_1x1(m)


def is_bn(m):
    """BatchNorm that uses running statistics (eval mode), so it is an affine map per channel."""
    return (isinstance(m, nn.modules.batchnorm._BatchNorm) and not m.training
            and m.running_mean is not None and plain_batch_norm(m))


def plain_batch_norm(m):
    """A BatchNorm (or a subclass) computing just BatchNorm: torch's forward, not its own (a
    subclass adding an activation is traced through instead, into F.batch_norm and the act)."""
    return type(m).forward is nn.modules.batchnorm._BatchNorm.forward


# name -> (first, second): a match is first's output read only by second.
CHAINS = {
    "conv -> bn": (torch_conv, is_bn),  # exact whatever the padding: BN acts after it
    "1x1 -> 1x1": (is_1x1, is_1x1),
    "kxk -> 1x1": (is_kxk, is_1x1),
    "1x1 -> kxk": (is_1x1, is_kxk),
    "linear -> linear": (is_linear, is_linear),
}


def match_chain(gm, first, second, shape_reads=False):
    """(a, b) node pairs: a calls a `first` module, b a `second` one, and b is a's only user.

    shape_reads=True: b is a's only user but for readers of a's shape alone (timm's norm
    layers assert ``x.ndim == 4``): right where b's output has a's shape (a BatchNorm).

    >>> import torch
    >>> from onebyone.graph.trace import trace
    >>> gm = trace(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 4, 1),
    ...                                torch.nn.ReLU(), torch.nn.Conv2d(4, 4, 1)))
    >>> [(a.target, b.target) for a, b in match_chain(gm, *CHAINS["kxk -> 1x1"])]
    [('0', '1')]
    >>> match_chain(gm, *CHAINS["1x1 -> 1x1"])  # the ReLU breaks 1 -> 3
    []
    """
    pairs = []
    for a in gm.graph.nodes:
        users = value_users(a) if shape_reads else list(a.users)
        if not (first(module(gm, a)) and len(users) == 1):
            continue
        (b,) = users
        if b.args[:1] == (a,) and len(b.args) == 1 and not b.kwargs and second(module(gm, b)):
            pairs.append((a, b))
    return pairs


CATS = (torch.cat, torch.concat, torch.concatenate)


def cat_of_layers(gm, node, layer=torch_conv):
    """(inputs, why) for a node reading a torch.cat: the cat's input nodes, and why they are not
    each a ``layer`` call whose output only the cat reads, joined on axis 1 (the channels) and
    read by node alone (None if they are: node acts on each layer's channels as a slice).
    None if node does not read a cat. (timm's MixedConv2d: split, a conv per split, cat.)

    >>> from onebyone.graph.trace import trace
    >>> class Mixed(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.a, self.b, self.bn = nn.Conv2d(2, 3, 1), nn.Conv2d(2, 5, 3), nn.BatchNorm2d(8)
    ...     def forward(self, x):
    ...         return self.bn(torch.cat([self.a(x), self.b(x)], 1))
    >>> gm = trace(Mixed().eval())
    >>> bn = [n for n in gm.graph.nodes if n.target == "bn"][0]
    >>> [p.target for p in cat_of_layers(gm, bn)[0]], cat_of_layers(gm, bn)[1]
    (['a', 'b'], None)
    """
    cat = node.args[0] if len(node.args) == 1 and not node.kwargs else None
    if not (isinstance(cat, torch.fx.Node) and cat.op == "call_function" and cat.target in CATS):
        return None
    inputs = list(cat.args[0] if cat.args else cat.kwargs["tensors"])
    dim = cat.args[1] if len(cat.args) > 1 else cat.kwargs.get("dim", 0)
    meta = cat.meta.get("tensor_meta")
    if isinstance(dim, int) and dim < 0 and hasattr(meta, "shape"):
        dim += len(meta.shape)
    if dim != 1:
        return inputs, f"the cat joins axis {dim}, not the channels"
    if value_users(cat) != [node]:
        return inputs, "the cat's output has another reader"
    for p in inputs:
        if not (isinstance(p, torch.fx.Node) and layer(module(gm, p)) and value_users(p) == [cat]
                and inputs.count(p) == 1):
            return inputs, f"cat input {getattr(p, 'name', p)} is not a conv whose output only the cat reads"
    return inputs, None


_SHAPE_ATTRS = ("ndim", "shape", "dtype", "device", "is_cuda")


def value_users(node):
    """node's users but those reading only its shape, rank, dtype or device (x.ndim, x.size())."""
    return [u for u in node.users
            if not ((u.op == "call_function" and u.target is getattr and u.args[1] in _SHAPE_ATTRS)
                    or (u.op == "call_method" and u.target in ("size", "dim")))]


def sibling_key(m):
    """Pointwise layers with equal keys reading one tensor can be one layer: 1x1 convs
    (groups=1) with one stride, padding and dims, or Linear layers."""
    if is_linear(m):
        return ("linear", m.weight.dtype, m.weight.device)
    dims = m.weight.ndim - 2
    return (dims, as_tuple(m.stride, dims), as_tuple(m.padding, dims), m.weight.dtype, m.weight.device)


def match_siblings(gm):
    """Lists of >= 2 call_module 1x1 conv (groups=1) or Linear nodes that read the same node,
    which nothing writes in place once the first of them has read it."""
    groups = defaultdict(list)
    for n in gm.graph.nodes:
        m = module(gm, n)
        if ((is_1x1(m) and m.groups == 1) or is_linear(m)) and len(n.args) == 1 and not n.kwargs:
            groups[(n.args[0], sibling_key(m))].append(n)
    # an in-place write to the input after the first reader: the later ones read other values
    return [nodes for nodes in groups.values()
            if len(nodes) > 1 and written_in_place(gm, nodes[0].args[0], after=nodes[0]) is None]


def as_tuple(v, dims):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * dims


def bias_or_zeros(m):
    """A conv's or Linear's bias, or zeros in its place (one per output channel): what it adds.

    >>> bias_or_zeros(nn.Conv2d(3, 2, 1, bias=False))
    tensor([0., 0.])
    """
    return m.bias if m.bias is not None else m.weight.new_zeros(m.weight.shape[0])
