"""Which node writes a tensor in place: a rewrite that moves a read of it must not cross one.

torch.fx records `x.relu_()`, `torch.relu_(x)`, `F.relu(x, inplace=True)` and
`nn.ReLU(inplace=True)(x)` as ordinary nodes, but after them every reader of x (or of a view of
x, or of the op's result, which is x itself) sees the new values. Two 1x1 convs reading x on
either side of such a node read different tensors, though the graph shows one input node.
"""
import inspect
import operator

import torch

_INPLACE_OPERATORS = {operator.iadd, operator.isub, operator.imul, operator.itruediv,
                      operator.ifloordiv, operator.imod, operator.ipow, operator.iand,
                      operator.ior, operator.ixor, operator.ilshift, operator.irshift,
                      operator.imatmul, operator.setitem}
_INPLACE_DUNDERS = {f"__{op.__name__}__" for op in _INPLACE_OPERATORS}  # x.__setitem__(...) ...
# Ops whose result shares memory with their first argument (a write to one is seen by both).
_VIEW_METHODS = {"view", "view_as", "reshape", "flatten", "unflatten", "permute", "transpose",
                 "t", "narrow", "expand", "expand_as", "squeeze", "unsqueeze", "select", "split",
                 "chunk", "unbind", "as_strided", "movedim", "swapaxes", "detach", "contiguous",
                 "__getitem__", "diagonal", "unfold", "real", "imag"}
_VIEW_FUNCTIONS = {operator.getitem, torch.flatten, torch.reshape, torch.transpose, torch.narrow,
                   torch.chunk, torch.split, torch.squeeze, torch.unsqueeze, torch.permute,
                   torch.movedim, torch.select, torch.unbind, torch.detach, torch.t,
                   torch.diagonal, torch.swapaxes}


def written_in_place(gm, tensor, after=None):
    """The first node writing `tensor` (or a view or alias of it) in place, coming after the
    node `after` in graph order (anywhere if None); None if there is none.

    >>> class Model(torch.nn.Module):
    ...     def forward(self, x):
    ...         y = x.flatten(1)
    ...         y.relu_()
    ...         return x
    >>> gm = torch.fx.symbolic_trace(Model())
    >>> x = next(iter(gm.graph.nodes))
    >>> written_in_place(gm, x).name
    'relu_'
    """
    order = {n: i for i, n in enumerate(gm.graph.nodes)}
    start = order[after] if after is not None else -1
    writers = [u for a in _aliases(gm, tensor) for u in a.users if _writes(gm, u, a)]
    writers = [w for w in writers if order[w] > start]
    return min(writers, key=order.get, default=None)


def _aliases(gm, tensor):
    """tensor's node and every node sharing its memory: walk up views and in-place results to
    the base tensor, then down again."""
    base = tensor
    while _is_view(base) or _writes(gm, base, _first_arg(base)):
        base = _first_arg(base)
    found, todo = {base}, [base]
    while todo:
        n = todo.pop()
        for u in n.users:
            if u not in found and _first_arg(u) is n and (_is_view(u) or _writes(gm, u, n)):
                found.add(u)
                todo.append(u)
    return found


def _first_arg(node):
    arg = node.args[0] if node.args else None
    return arg if isinstance(arg, torch.fx.Node) else None


def _is_view(node):
    if _first_arg(node) is None:
        return False
    if node.op == "call_method":
        return node.target in _VIEW_METHODS
    return node.op == "call_function" and node.target in _VIEW_FUNCTIONS


def _writes(gm, node, tensor):
    """True if node writes `tensor` in place."""
    if tensor is None or not isinstance(node, torch.fx.Node):
        return False
    if node.kwargs.get("out") is tensor:
        return True
    if _first_arg(node) is not tensor:
        return False
    if node.op == "call_method":
        return (node.target.endswith("_") and not node.target.startswith("_")) \
            or node.target in _INPLACE_DUNDERS
    if node.op == "call_module":
        return getattr(gm.get_submodule(node.target), "inplace", False) is True
    if node.op != "call_function":
        return False
    if node.target in _INPLACE_OPERATORS:
        return True
    name = getattr(node.target, "__name__", "")
    return (name.endswith("_") and not name.startswith("_")) or _inplace_flag(node)


def _inplace_flag(node):
    """F.relu(x, True) / F.relu(x, inplace=True): the `inplace` argument, however passed."""
    if "inplace" in node.kwargs:
        return node.kwargs["inplace"] is True
    try:
        bound = inspect.signature(node.target).bind(*node.args, **node.kwargs)
    except (TypeError, ValueError):  # builtins without a signature, or no match: no such flag
        return False
    return bound.arguments.get("inplace") is True
