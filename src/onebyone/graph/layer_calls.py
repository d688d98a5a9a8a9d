"""Which functional calls in a graph are layers, with their arguments named one way.

A conv, a linear layer or a BatchNorm reaches a graph as a module, or as a function call with
its own argument order: ``F.batch_norm(x, mean, var, weight, bias, training, momentum, eps)``
from a traced model (timm's BatchNormAct2d calls it), ``aten.batch_norm`` (weight and bias
first) or ``aten._native_batch_norm_legit_no_training`` (a tuple, item 0 the output) from a
.pt2, ``aten.convolution`` from a decomposed program. ``layer_call`` reads them all into one
dict, so modularize turns each into the same module.
"""
import torch
from torch import nn

F = nn.functional
aten = torch.ops.aten

# op -> spatial dims of the conv (None: read them off the weight)
CONV_OPS = {aten.conv1d.default: 1, aten.conv2d.default: 2, aten.conv3d.default: 3,
            F.conv1d: 1, F.conv2d: 2, F.conv3d: 3, torch.conv1d: 1, torch.conv2d: 2,
            torch.conv3d: 3, aten.convolution.default: None}
LINEAR_OPS = (aten.linear.default, F.linear)
# op -> its parameter names in order (the names F's and aten's schemas use, made one set)
_SIGNATURES = {
    **{op: ("input", "weight", "bias", "stride", "padding", "dilation", "groups") for op in CONV_OPS},
    aten.convolution.default: ("input", "weight", "bias", "stride", "padding", "dilation",
                               "transposed", "output_padding", "groups"),
    **{op: ("input", "weight", "bias") for op in LINEAR_OPS},
    F.batch_norm: ("input", "running_mean", "running_var", "weight", "bias", "training",
                   "momentum", "eps"),
    aten.batch_norm.default: ("input", "weight", "bias", "running_mean", "running_var",
                              "training", "momentum", "eps", "cudnn_enabled"),
    aten._native_batch_norm_legit_no_training.default: ("input", "weight", "bias", "running_mean",
                                                         "running_var", "momentum", "eps"),
}
_DEFAULTS = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1, "weight": None,
             "training": False, "momentum": 0.1, "eps": 1e-5, "transposed": False,
             "output_padding": 0}
# the tensors a layer holds: each must be a constant of the model (a get_attr node)
CONSTANTS = {"conv": ("weight", "bias"), "linear": ("weight", "bias"),
             "bn": ("weight", "bias", "running_mean", "running_var")}


def layer_call(node):
    """(kind, {argument name: value}) for a call_function node that is a conv, a linear layer
    or an eval-mode BatchNorm on constant tensors, else None. kind: "conv", "linear" or "bn".

    >>> class Norm(nn.BatchNorm2d):  # a subclass calling F.batch_norm itself, as timm's do
    ...     def forward(self, x):
    ...         return F.batch_norm(x, self.running_mean, self.running_var, eps=1e-3)
    >>> gm = torch.fx.Tracer().trace(Norm(4).eval())
    >>> node = [n for n in gm.nodes if n.op == "call_function"][0]
    >>> kind, args = layer_call(node)
    >>> kind, args["eps"], args["weight"], args["running_mean"].target
    ('bn', 0.001, None, 'running_mean')
    """
    if node.op != "call_function" or node.target not in _SIGNATURES:
        return None
    names = _SIGNATURES[node.target]
    if len(node.args) > len(names) or any(k not in names for k in node.kwargs):
        return None
    args = {**{n: _DEFAULTS.get(n) for n in names}, **dict(zip(names, node.args)), **node.kwargs}
    kind = "conv" if node.target in CONV_OPS else "linear" if node.target in LINEAR_OPS else "bn"
    if kind == "bn" and (args.get("training", False) is not False or args["running_mean"] is None):
        return None  # batch statistics: not an affine map of the input
    if kind == "conv" and (args.get("transposed") or any(_tuple(args.get("output_padding")))):
        return None
    tensors = [args[n] for n in CONSTANTS[kind] if args[n] is not None]
    if args["weight"] is None and kind != "bn" or not all(
            isinstance(t, torch.fx.Node) and t.op == "get_attr" for t in tensors):
        return None  # weights computed at run time are not a layer's constants
    return kind, args


def returns_tuple(node):
    """True for the BatchNorm op whose result is a tuple (item 0 the output)."""
    return node.target is aten._native_batch_norm_legit_no_training.default


def _tuple(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)
