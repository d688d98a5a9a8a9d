"""Turn functional convs, linears and BatchNorms (as in a torch.export program's module()) into modules.

The passes and inspect look for call_module nodes; a .pt2 program calls aten.conv2d,
aten.linear and aten.batch_norm on get_attr tensors instead. Each such call becomes a call to a new nn.ConvNd /
nn.BatchNormNd holding the same tensors, so everything downstream sees one kind of graph.
"""
import torch
from torch import nn

_CONV_OPS = {torch.ops.aten.conv1d.default: nn.Conv1d, torch.ops.aten.conv2d.default: nn.Conv2d,
             torch.ops.aten.conv3d.default: nn.Conv3d}
_BN = {3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}


def modularize(gm):
    """gm as a plain GraphModule, with aten conv / linear / eval batch_norm calls on constant
    tensors made into modules (gm is changed: pass a copy).

    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4)).eval()
    >>> program = torch.export.export(model, (torch.randn(1, 3, 4, 4),))
    >>> gm = modularize(program.module())
    >>> [type(gm.get_submodule(n.target)).__name__ for n in gm.graph.nodes if n.op == "call_module"]
    ['Conv2d', 'BatchNorm2d']
    """
    gm = _plain(gm)
    changed = False
    for node in list(gm.graph.nodes):
        new = _module_for(gm, node)
        if new is None:
            continue
        weight_node = node.args[1]
        name = _free(gm, weight_node.target.rpartition(".")[0] or "conv", new)
        gm.add_submodule(name, new)
        with gm.graph.inserting_before(node):
            call = gm.graph.call_module(name, (node.args[0],))
        call.meta = dict(node.meta)
        node.replace_all_uses_with(call)
        gm.graph.erase_node(node)
        changed = True
    if changed:
        gm.graph.eliminate_dead_code()  # the get_attr nodes nothing reads now
        gm.delete_all_unused_submodules()
        gm.recompile()
    return gm


def _plain(gm):
    """An ordinary GraphModule: export's module() class wraps __call__ in a local function and
    calls an input-guard module, neither of which torch.save can pickle."""
    if not hasattr(gm, "_guards_fn") and type(gm).__call__ is torch.fx.GraphModule.__call__:
        return gm
    for node in list(gm.graph.nodes):
        if node.op == "call_module" and node.target == "_guards_fn" and not node.users:
            gm.graph.erase_node(node)  # shape guards only; the verification runs check inputs
    plain = torch.fx.GraphModule(gm, gm.graph, type(gm).__name__)
    for spec in ("_in_spec", "_out_spec"):  # read by the pytree code export generates
        if hasattr(gm, spec):
            setattr(plain, spec, getattr(gm, spec))
    plain.recompile()
    return plain


def _attr(gm, node):
    try:
        return gm.get_parameter(node.target)
    except AttributeError:
        return gm.get_buffer(node.target)


def _module_for(gm, node):
    """A module computing this call_function node, or None if it is not one we convert."""
    if node.op != "call_function":
        return None
    args = list(node.args)
    tensors = [a for a in args[1:3] if isinstance(a, torch.fx.Node)]
    if node.target in _CONV_OPS and not node.kwargs and all(t.op == "get_attr" for t in tensors):
        weight = _attr(gm, args[1])
        bias = _attr(gm, args[2]) if len(args) > 2 and args[2] is not None else None
        stride, padding, dilation, groups = (args[3:] + [1, 0, 1, 1][len(args[3:]):])[:4]
        conv = _CONV_OPS[node.target](weight.shape[1] * groups, weight.shape[0], tuple(weight.shape[2:]),
                                      stride, padding, dilation, groups, bias is not None)
        conv.weight, conv.bias = nn.Parameter(weight.detach()), None if bias is None else nn.Parameter(bias.detach())
        return conv.eval()
    if node.target is torch.ops.aten.linear.default and all(t.op == "get_attr" for t in tensors):
        weight = _attr(gm, args[1])
        bias = _attr(gm, args[2]) if len(args) > 2 and args[2] is not None else None
        linear = nn.Linear(weight.shape[1], weight.shape[0], bias is not None)
        linear.weight, linear.bias = nn.Parameter(weight.detach()), None if bias is None else nn.Parameter(bias.detach())
        return linear
    if node.target is torch.ops.aten.batch_norm.default and len(args) == 9 and args[5] is False \
            and all(isinstance(a, torch.fx.Node) and a.op == "get_attr" for a in args[1:5]):
        weight, bias, mean, var = (_attr(gm, a) for a in args[1:5])
        ndim = len(node.meta["val"].shape) if "val" in node.meta else 4
        bn = _BN[ndim](mean.shape[0], eps=args[7], momentum=args[6])
        bn.weight, bn.bias = nn.Parameter(weight.detach()), nn.Parameter(bias.detach())
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        return bn.eval()
    return None


def _free(gm, base, new):
    names, name, i = dict(gm.named_modules()), base, 0
    while name in names and not _holder_of(names[name], new):
        i += 1
        name = f"{base}_{i}"
    return name


def _holder_of(m, new):
    """True for the empty nn.Module export keeps at a layer's path to hold tensors `new` also
    has: the new module can take its place (and its path, the name users know)."""
    own = {n for n, _ in m.named_parameters()} | {n for n, _ in m.named_buffers()}
    have = {n for n, _ in new.named_parameters()} | {n for n, _ in new.named_buffers()}
    return type(m) is nn.Module and not list(m.children()) and own <= have
