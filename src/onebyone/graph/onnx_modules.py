"""onnx2torch's modules made the ones the passes match, by two small rewrites of its graph.

- ONNX's Linear, ``MatMul(x, W)`` then ``Add(b)``: exporters write a Linear layer on tokens or
  pixels (a 3-D or 4-D input) as MatMul by a constant (in, out) matrix and an Add of an (out,)
  bias; onnx2torch converts those into its own MatMul and Add modules, which no pass or census
  row recognises. Each such pair becomes one nn.Linear with weight W^T.
- A Conv padded more on one side (tf2onnx writes Keras' "same" padding at stride 2 so) becomes
  an ``nn.Sequential(pad, conv)`` in onnx2torch, called as one module: its BatchNorm cannot be
  seen to follow a conv. The Sequential's two parts are called one after the other instead.

Then fold_bn, collapse, merge_parallel and the census see what they see in a PyTorch model.
"""
import torch
from torch import nn

from .passes._rewrite import set_module


def matmuls_to_linear(gm):
    """gm (changed in place) with each onnx2torch MatMul by a constant 2-D matrix made an
    nn.Linear, and the Add of a constant (out,) vector that alone reads it made its bias; the
    number of Linear layers made.

    >>> import onnx, onnx2torch
    >>> from onnx import helper, numpy_helper, TensorProto
    >>> w, b = numpy_helper.from_array(torch.ones(4, 2).numpy(), "w"), numpy_helper.from_array(torch.ones(2).numpy(), "b")
    >>> g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])],
    ...     "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, b])
    >>> gm = onnx2torch.convert(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]))
    >>> matmuls_to_linear(gm), [type(m).__name__ for m in gm.children() if list(m.parameters())]
    (1, ['Linear'])
    """
    from onnx2torch.node_converters.binary_math_operations import OnnxBinaryMathOperation
    from onnx2torch.node_converters.matmul import OnnxMatMul

    made = 0
    for node in list(gm.graph.nodes):
        if not (node.op == "call_module" and isinstance(gm.get_submodule(node.target), OnnxMatMul)):
            continue
        x, w = node.args
        weight = _constant(gm, w)
        if weight is None or weight.ndim != 2 or not weight.is_floating_point():
            continue
        add, bias = _bias_add(gm, node, weight.shape[1], OnnxBinaryMathOperation)
        linear = nn.Linear(*weight.shape, bias=bias is not None, dtype=weight.dtype).eval()
        with torch.no_grad():
            linear.weight.copy_(weight.T)  # (in, out) -> torch's (out, in)
            if bias is not None:
                linear.bias.copy_(bias)
        set_module(gm, node.target, linear)
        node.args = (x,)
        if add is not None:
            add.replace_all_uses_with(node)
            gm.graph.erase_node(add)
        made += 1
    if made:
        gm.graph.eliminate_dead_code()  # the get_attr nodes of the moved tensors
        gm.delete_all_unused_submodules()
        _drop_unread(gm)
        gm.recompile()
    return made


def split_padded_convs(gm):
    """gm (changed in place) with each call of an onnx2torch ``Sequential(pad, conv)`` made a
    call of the pad, then of the conv; the number split.

    >>> import onnx2torch
    >>> from onnx import helper, numpy_helper, TensorProto
    >>> w = numpy_helper.from_array(torch.ones(2, 2, 3, 3).numpy(), "w")
    >>> g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[0, 0, 1, 1])], "g",
    ...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    >>> gm = onnx2torch.convert(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]))
    >>> split_padded_convs(gm), [type(gm.get_submodule(n.target)).__name__
    ...                          for n in gm.graph.nodes if n.op == "call_module"]
    (1, ['OnnxPadStatic', 'Conv2d'])
    """
    from onnx2torch.node_converters.pad import OnnxPadStatic

    split = 0
    for node in list(gm.graph.nodes):
        m = gm.get_submodule(node.target) if node.op == "call_module" else None
        if not (isinstance(m, nn.Sequential) and len(m) == 2 and isinstance(m[0], OnnxPadStatic)
                and isinstance(m[1], (nn.Conv1d, nn.Conv2d, nn.Conv3d)) and len(node.args) == 1
                and not node.kwargs):
            continue
        with gm.graph.inserting_before(node):
            pad = gm.graph.call_module(f"{node.target}.0", node.args)
            conv = gm.graph.call_module(f"{node.target}.1", (pad,))
        node.replace_all_uses_with(conv)
        gm.graph.erase_node(node)
        split += 1
    if split:
        gm.recompile()
    return split


def _constant(gm, node):
    """The tensor a get_attr node reads, else None."""
    if not (isinstance(node, torch.fx.Node) and node.op == "get_attr"):
        return None
    owner, _, name = node.target.rpartition(".")
    return getattr(gm.get_submodule(owner) if owner else gm, name)


def _bias_add(gm, matmul, out, add_type):
    """(Add node, its bias) when matmul's one reader adds a constant (out,) vector to it."""
    users = list(matmul.users)
    if len(users) != 1 or users[0].op != "call_module" or len(users[0].args) != 2 or users[0].kwargs:
        return None, None
    add = users[0]
    m = gm.get_submodule(add.target)
    if not (isinstance(m, add_type) and m.math_op_function is torch.add and m.broadcast != 1):
        return None, None
    other = add.args[1] if add.args[0] is matmul else add.args[0]
    bias = _constant(gm, other)
    if other is matmul or bias is None or tuple(bias.shape) != (out,) or not bias.is_floating_point():
        return None, None
    return add, bias


def _drop_unread(gm):
    """Delete the tensors no get_attr reads any more: the Linear layers hold them now."""
    read = {n.target for n in gm.graph.nodes if n.op == "get_attr"}
    for name, _ in list(gm.named_buffers()):
        if name not in read:
            owner, _, leaf = name.rpartition(".")
            delattr(gm.get_submodule(owner) if owner else gm, leaf)
