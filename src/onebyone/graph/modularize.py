"""Turn functional convs, linears and BatchNorms on a model's own tensors into modules.

The passes and inspect look for call_module nodes; a .pt2 program calls aten.conv2d,
aten.linear and aten.batch_norm on get_attr tensors instead, and hand-written models may call
F.conv2d(x, self.weight). Each such call becomes a call to a new nn.ConvNd / nn.Linear /
nn.BatchNormNd holding the same tensors, so everything downstream sees one kind of graph.
"""
import torch
from torch import nn

from .guards import InputGuard, static_shape

F = nn.functional
_CONV_OPS = {torch.ops.aten.conv1d.default: nn.Conv1d, torch.ops.aten.conv2d.default: nn.Conv2d,
             torch.ops.aten.conv3d.default: nn.Conv3d, F.conv1d: nn.Conv1d, F.conv2d: nn.Conv2d,
             F.conv3d: nn.Conv3d, torch.conv1d: nn.Conv1d, torch.conv2d: nn.Conv2d,
             torch.conv3d: nn.Conv3d}
_LINEAR_OPS = {torch.ops.aten.linear.default, F.linear}
_CONV_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONV_DEFAULTS = (None, None, None, 1, 0, 1, 1)
_BN = {3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}


def modularize(gm):
    """gm as a plain GraphModule, with aten conv / linear / eval batch_norm calls on constant
    tensors made into modules (gm is changed: pass a copy).

    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4)).eval()
    >>> program = torch.export.export(model, (torch.randn(1, 3, 4, 4),))
    >>> gm = modularize(program.module())
    >>> [type(gm.get_submodule(n.target)).__name__ for n in gm.graph.nodes if n.op == "call_module"]
    ['InputGuard', 'Conv2d', 'BatchNorm2d']
    """
    gm = _plain(gm)
    created, read = set(), set()
    for node in list(gm.graph.nodes):
        new = _module_for(gm, node)
        if new is None:
            continue
        args = _by_position(node)
        name = _name(gm, args[1].target, new)
        gm.add_submodule(name, new)
        with gm.graph.inserting_before(node):
            call = gm.graph.call_module(name, (args[0],))
        call.meta = dict(node.meta)
        node.replace_all_uses_with(call)
        gm.graph.erase_node(node)
        created.add(id(new))
        read.update(a.target for a in args if isinstance(a, torch.fx.Node) and a.op == "get_attr")
    if created:
        gm.graph.eliminate_dead_code()  # the get_attr nodes nothing reads now
        _drop_moved_tensors(gm, read, created)
        gm.delete_all_unused_submodules()
        gm.recompile()
    return gm


def _drop_moved_tensors(gm, targets, created):
    """Delete the old attributes whose tensors now live in new modules, so parameters are not
    listed (and counted, and saved) twice; keep any another node still reads."""
    still_read = {n.target for n in gm.graph.nodes if n.op == "get_attr"}
    for target in targets - still_read:
        parent, _, leaf = target.rpartition(".")
        owner = gm.get_submodule(parent)
        if id(owner) not in created:  # a replaced holder's tensors are the new module's own
            delattr(owner, leaf)


def _plain(gm):
    """An ordinary GraphModule: export's module() class wraps __call__ in a local function and
    calls an input-guard function, neither of which torch.save can pickle. The guards stay, in
    an InputGuard: an input the export rejects is rejected by every rewrite of it too."""
    guards = getattr(gm, "_guards_fn", None)
    if (guards is None or isinstance(guards, InputGuard)) \
            and type(gm).__call__ is torch.fx.GraphModule.__call__:
        return gm
    plain = torch.fx.GraphModule(gm, gm.graph, type(gm).__name__)
    for node in plain.graph.nodes:
        if node.op == "call_module" and node.target == "_guards_fn" \
                and not isinstance(guards, InputGuard):
            plain._guards_fn = InputGuard([static_shape(a) for a in node.args], check=guards.forward)
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
    args = _by_position(node)
    if args is None:
        return None
    tensors = [a for a in args[1:3] if a is not None]
    if not all(isinstance(t, torch.fx.Node) and t.op == "get_attr" for t in tensors):
        return None  # weights computed at run time are not a layer's constants
    if node.target in _CONV_OPS:
        weight = _attr(gm, args[1])
        bias = _attr(gm, args[2]) if args[2] is not None else None
        stride, padding, dilation, groups = args[3:7]
        conv = _CONV_OPS[node.target](weight.shape[1] * groups, weight.shape[0], tuple(weight.shape[2:]),
                                      stride, padding, dilation, groups, bias is not None)
        conv.weight, conv.bias = _param(weight), None if bias is None else _param(bias)
        return conv.eval()
    if node.target in _LINEAR_OPS:
        weight = _attr(gm, args[1])
        bias = _attr(gm, args[2]) if args[2] is not None else None
        linear = nn.Linear(weight.shape[1], weight.shape[0], bias is not None)
        linear.weight, linear.bias = _param(weight), None if bias is None else _param(bias)
        return linear
    if node.target is torch.ops.aten.batch_norm.default and len(args) == 9 and args[5] is False \
            and all(isinstance(a, torch.fx.Node) and a.op == "get_attr" for a in args[1:5]):
        weight, bias, mean, var = (_attr(gm, a) for a in args[1:5])
        ndim = len(node.meta["val"].shape) if "val" in node.meta else 4
        bn = _BN[ndim](mean.shape[0], eps=args[7], momentum=args[6])
        bn.weight, bn.bias = _param(weight), _param(bias)
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        return bn.eval()
    return None


def _param(t):
    # the same Parameter object, so a tensor also read elsewhere is listed (and counted) once
    return t if isinstance(t, nn.Parameter) else nn.Parameter(t.detach())


def _by_position(node):
    """node's arguments as one positional list (conv / linear keyword names filled in), or None
    for an op this file does not convert."""
    if node.target in _CONV_OPS or node.target in _LINEAR_OPS:
        args = list(node.args) + list(_CONV_DEFAULTS[len(node.args):])
        for name, value in node.kwargs.items():
            if name not in _CONV_ARGS:
                return None
            args[_CONV_ARGS.index(name)] = value
        return args
    if node.target is torch.ops.aten.batch_norm.default and not node.kwargs:
        return list(node.args)
    return None


def _name(gm, weight_target, new):
    """Where the new module goes: the path export left for this layer if it can take it,
    else beside the weight, e.g. `w1_conv2d` for a model's own `w1`."""
    modules = dict(gm.named_modules())
    parent, _, leaf = weight_target.rpartition(".")
    if parent and _holder_of(modules[parent], new):
        return parent
    base = f"{parent + '.' if parent else ''}{leaf}_{type(new).__name__.lower()}"
    name, i = base, 0
    while name in modules or hasattr(gm, name):
        i += 1
        name = f"{base}_{i}"
    return name


def _holder_of(m, new):
    """True for the empty nn.Module export keeps at a layer's path to hold tensors `new` also
    has: the new module can take its place (and its path, the name users know)."""
    own = {n for n, _ in m.named_parameters()} | {n for n, _ in m.named_buffers()}
    have = {n for n, _ in new.named_parameters()} | {n for n, _ in new.named_buffers()}
    return type(m) is nn.Module and not list(m.children()) and own <= have
