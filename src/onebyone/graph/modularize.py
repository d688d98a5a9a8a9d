"""Turn functional convs, linears and BatchNorms on a model's own tensors into modules.

The passes and inspect look for call_module nodes; a .pt2 program calls aten.conv2d,
aten.linear and aten.batch_norm on get_attr tensors instead, hand-written models may call
F.conv2d(x, self.weight), and BatchNorm subclasses (timm's BatchNormAct2d) call F.batch_norm
from their own forward (layer_calls.py reads every such call). Each such call becomes a call to a new nn.ConvNd / nn.Linear /
nn.BatchNormNd holding the same tensors, so everything downstream sees one kind of graph.
"""
import operator

import torch
from torch import nn

from .._axes import conv_module
from .guards import InputGuard, static_shape

from .layer_calls import CONSTANTS, CONV_OPS, layer_call, returns_tuple

_BN = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}


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
        found = layer_call(node)
        new = found and _module_for(gm, node, *found)
        if new is None:
            continue
        kind, args = found
        key = args["weight"] if args["weight"] is not None else args["running_mean"]
        name = _name(gm, key.target, new)
        gm.add_submodule(name, new)
        with gm.graph.inserting_before(node):
            call = gm.graph.call_module(name, (args["input"],))
        call.meta = dict(node.meta)
        # a tuple-returning op: its item 0 is the output, the other items (batch statistics
        # for a backward) have no reader in an inference graph or the op is not converted
        for user in list(node.users) if returns_tuple(node) else []:
            user.replace_all_uses_with(call)
            gm.graph.erase_node(user)
        node.replace_all_uses_with(call)
        gm.graph.erase_node(node)
        created.add(id(new))
        read.update(args[n].target for n in CONSTANTS[kind] if args[n] is not None)
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
    plain.meta.update(getattr(gm, "meta", {}))  # what trace recorded (modules kept whole)
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


def _module_for(gm, node, kind, args):
    """A module computing this layer call (layer_calls.layer_call read it), or None."""
    if returns_tuple(node) and any(u.target is not operator.getitem or u.args[1] != 0
                                   for u in node.users):
        return None  # a batch statistic is read: not only the normalised output
    weight = _attr(gm, args["weight"]) if args["weight"] is not None else None
    bias = _attr(gm, args["bias"]) if args["bias"] is not None else None
    if kind == "conv":
        groups = args["groups"]
        dims = CONV_OPS[node.target] or weight.ndim - 2
        conv = conv_module(dims)(weight.shape[1] * groups, weight.shape[0], tuple(weight.shape[2:]),
                           args["stride"], args["padding"], args["dilation"], groups, bias is not None)
        conv.weight, conv.bias = _param(weight), None if bias is None else _param(bias)
        return conv.eval()
    if kind == "linear":
        linear = nn.Linear(weight.shape[1], weight.shape[0], bias is not None)
        linear.weight, linear.bias = _param(weight), None if bias is None else _param(bias)
        return linear
    mean, var = _attr(gm, args["running_mean"]), _attr(gm, args["running_var"])
    bn = _BN.get(_ndim(node), BatchNormNd)(mean.shape[0], eps=args["eps"], momentum=args["momentum"],
                   affine=weight is not None or bias is not None,
                   device=mean.device, dtype=mean.dtype)
    with torch.no_grad():
        if bn.affine:  # one of the two missing: the identity's scale or shift stands in
            bn.weight = _param(weight) if weight is not None else bn.weight
            bn.bias = _param(bias) if bias is not None else bn.bias
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
    return bn.eval()


class BatchNormNd(nn.modules.batchnorm._BatchNorm):
    """An eval BatchNorm for an input of any rank (a traced F.batch_norm call: its rank is not
    known before the graph runs); it computes what F.batch_norm computes."""

    def _check_input_dim(self, input):
        pass


def _ndim(node):
    """The rank of a node's output: from export's fake value or ShapeProp's record, else None."""
    val = node.meta.get("val")
    val = val[0] if isinstance(val, (tuple, list)) else val
    if isinstance(val, torch.Tensor):
        return val.dim()
    meta = node.meta.get("tensor_meta")
    return len(meta.shape) if hasattr(meta, "shape") else None


def _param(t):
    # the same Parameter object, so a tensor also read elsewhere is listed (and counted) once
    return t if isinstance(t, nn.Parameter) else nn.Parameter(t.detach())


def _name(gm, weight_target, new):
    """Where the new module goes: the path export left for this layer if it can take it,
    else beside the weight, e.g. `w1_conv2d` for a model's own `w1`."""
    modules = dict(gm.named_modules())
    parent, _, leaf = weight_target.rpartition(".")
    if parent and _holder_of(modules[parent], new):
        return parent
    base = f"{parent + '.' if parent else ''}{leaf}_{type(new).__name__.lower()}"
    if parent and type(modules[parent]) is nn.Module:  # a traced module's path: timm's bn1
        # (a BatchNormAct2d, whose act is still called as bn1.act) gets bn1.batch_norm, the call
        kind = "batch_norm" if isinstance(new, BatchNormNd) else type(new).__name__.lower()
        base = f"{parent}.{kind}"
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
