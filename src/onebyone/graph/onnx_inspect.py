"""The inspect table for ONNX files, read from onnx_read's normal form with the census's rules.

Rows: every Conv whose kernel is 1 x ... x 1 (any group), and every MatMul / Gemm by a
constant 2-D weight applied to a tensor with spatial or token axes, (N, ..., C) (directly, or
through a Reshape / Flatten that merges the leading axes, as TensorFlow's tensordot writes a
Dense); a layer's bias Add counts with it (onnx_view.py). Costs and roles come from the same
rules as a PyTorch model's (cost.layer_macs, roles.rule_role), so a model and its export list
the same rows with the same MACs. A TorchScript module comes here too, exported to ONNX in
memory (TorchScript cannot be traced by torch.fx). Findings here are the ones readable from the
ONNX graph: parallel 1x1 convs, conv chains (through BatchNormalization), rank-1 and
rank-deficient weights.
"""
import io
import math
import warnings

from ..errors import OneByOneError
from .cost import layer_macs
from .onnx_findings import onnx_findings
from .onnx_read import graph_inputs, read_onnx, static_shapes
from .onnx_view import OnnxView
from .roles import feeds_layer, linear_role, rule_role
from .table import Inspection, add_totals, make_row


def inspect_onnx(model, example_input=None, name="model"):
    """An Inspection of an onnx.ModelProto (or a ScriptModule, exported first).

    example_input: as for inspect (a shape, tensors, "1,3,640,640"); for an ONNX model it fills
    the inputs' symbolic dims and None means the model's own fixed dims.
    """
    import onnx
    from onnx import numpy_helper

    from .trace import make_inputs

    if not isinstance(model, onnx.ModelProto):
        model = _script_to_onnx(model, make_inputs(example_input))
    shapes = None if example_input is None else [tuple(t.shape) for t in make_inputs(example_input)]
    quantized = int8_layers(model.graph)  # before read_onnx folds the weights' DequantizeLinear
    model = read_onnx(model, shapes)
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    view = OnnxView(g, inits, static_shapes(model))
    feeds = feeds_layer(view)
    result = Inspection(name, [view.shapes[v.name] for v in graph_inputs(g)])
    total_macs, layers = 0, []
    for i, node in enumerate(g.node):
        total_macs += _macs(view, i)
        row = _conv_row(view, feeds, i) if node.op_type == "Conv" else _linear_row(view, feeds, i)
        if row is not None:
            if quantized:  # a QDQ model (onebyone optimize --int8 writes them): say which ran int8
                row["precision"] = "int8" if node.name in quantized else "float"
            result.rows.append(row)
            layers.append((row["module"], i))
    result.findings = onnx_findings(view, layers)
    params = sum(a.size for a in inits.values() if a.dtype.kind == "f")
    return add_totals(result, params, total_macs)


def int8_layers(graph):
    """Names of the Conv / Gemm / MatMul nodes of a QDQ graph that run in int8: both their input
    and their weight arrive through DequantizeLinear (read from the graph, not from a report).

    >>> from onnx import helper
    >>> dq = [helper.make_node("DequantizeLinear", [x + "_q", "s"], [x]) for x in ("x", "w")]
    >>> g = helper.make_graph(dq + [helper.make_node("Conv", ["x", "w"], ["y"], name="c"),
    ...                             helper.make_node("Conv", ["y", "w2"], ["z"], name="f")], "g", [], [])
    >>> int8_layers(g)
    {'c'}
    """
    dequantized = {out for n in graph.node if n.op_type == "DequantizeLinear" for out in n.output}
    return {n.name for n in graph.node if n.op_type in ("Conv", "Gemm", "MatMul") and len(n.input) > 1
            and n.input[0] in dequantized and n.input[1] in dequantized}


def _script_to_onnx(module, inputs):
    import onnx
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(module, tuple(inputs), buffer, dynamo=False)
    return onnx.load_from_string(buffer.getvalue())


def _shape(view, tensor, i):
    shape = view.shapes.get(tensor)
    if shape is None:
        raise OneByOneError(f"expected onnx shape inference to give the shape of {tensor!r} at "
                            f"{view.g.node[i].op_type} node {view.name(i)!r}; it could not")
    return shape


def _params(view, i, bias_input=None):
    node = view.g.node[i]
    params = view.weight(i).size
    if bias_input is not None and len(node.input) > bias_input and node.input[bias_input] in view.inits:
        params += view.inits[node.input[bias_input]].size
    if i in view.bias:
        add = view.g.node[view.bias[i]]
        params += sum(view.inits[x].size for x in add.input if x in view.inits)
    return params


def _conv_row(view, feeds, i):
    import onnx

    node, w = view.g.node[i], view.weight(i)
    if w is None or any(k != 1 for k in w.shape[2:]):
        return None
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    groups, stride = attrs.get("group", 1), list(attrs.get("strides", [1] * (w.ndim - 2)))
    shape_in, out = _shape(view, node.input[0], i), _shape(view, node.output[0], i)
    cin, cout = w.shape[1] * groups, w.shape[0]
    if shape_in[1] != cin:
        raise OneByOneError(f"expected {cin} input channels at ONNX Conv {view.name(i)!r} (its "
                            f"weight is {tuple(w.shape)}, group {groups}); the input shape gives "
                            f"{shape_in[1]}")
    role = rule_role(view, feeds, i, cin, cout, stride, out)
    return make_row(view.name(i), cin, cout, groups, stride, out[1:], _params(view, i, 2),
                    _macs(view, i), role, kernel=w.shape[2:], input=shape_in[1:])


def _tokens(view, i):
    """The (N, ..., C) tensor shape a MatMul / Gemm by a constant weight is applied to, or None
    (a classifier on a pooled (N, C) vector, a Gemm with transA, attention's matmuls)."""
    node, w = view.g.node[i], view.weight(i)
    attrs = {a.name: a.i for a in node.attribute}
    if w is None or w.ndim != 2 or attrs.get("transA", 0):
        return None
    k = w.shape[1] if attrs.get("transB", 0) else w.shape[0]
    shape = view.shapes.get(node.input[0])
    if shape and len(shape) == 2:  # tensordot's Reshape (or a Flatten) merged the leading axes
        before = view.shapes.get(view.source(node.input[0])) or []
        # of a grid or tokens; a pooled (N, 1, 1, C) flattened for a classifier stays (N, C)
        merged = len(before) >= 3 and math.prod(before[:-1]) == shape[0] and math.prod(before[1:-1]) > 1
        shape = before if merged and before[-1] == k else shape
    return shape if shape and len(shape) >= 3 and shape[-1] == k else None


def _linear_row(view, feeds, i):
    node, w = view.g.node[i], view.weight(i)
    if node.op_type not in ("MatMul", "Gemm") or (shape_in := _tokens(view, i)) is None:
        return None
    transposed = any(a.name == "transB" and a.i for a in node.attribute)
    cin, cout = shape_in[-1], w.shape[0] if transposed else w.shape[1]
    out = [*shape_in[:-1], cout]
    dims = len(shape_in) - 2
    as_conv = (out[0], out[-1], *out[1:-1])  # the rules read (N, C, ...)
    role = linear_role(rule_role(view, feeds, i, cin, cout, (1,) * dims, as_conv), cin, cout)
    return make_row(view.name(i), cin, cout, 1, (1,) * dims, out[1:], _params(view, i, 2),
                    _macs(view, i), role, kind="linear", kernel=(1,) * dims, input=shape_in[1:])


def _macs(view, i):
    return node_macs(view.g.node[i], view.inits, view.shapes)


def node_macs(node, inits, shapes):
    """Multiply-adds of one ONNX Conv, Gemm or MatMul node by a weight initializer (else 0).

    >>> import numpy as np, onnx
    >>> conv = onnx.helper.make_node("Conv", ["x", "w"], ["y"])
    >>> node_macs(conv, {"w": np.ones((4, 8, 1, 1))}, {"y": [1, 4, 5, 5]})  # 8 -> 4 on 5x5
    800
    """
    out = shapes.get(node.output[0]) if node.output else None
    w = inits.get(node.input[1]) if node.op_type in ("Conv", "Gemm", "MatMul") and len(node.input) > 1 else None
    if not out or w is None:
        return 0
    if node.op_type == "Conv":
        return layer_macs(out, math.prod(w.shape[1:]))
    a = shapes.get(node.input[0])
    if a:  # Gemm, MatMul: the reduced axis is the input's last (Gemm's first with transA)
        transposed = any(x.name == "transA" and x.i for x in node.attribute)
        return layer_macs(out, a[0] if transposed else a[-1])
    return 0
