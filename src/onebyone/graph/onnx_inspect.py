"""The inspect table for ONNX files: Conv nodes with 1x1 kernels, via onnx shape inference.

A TorchScript module comes here too, exported to ONNX in memory (TorchScript cannot be traced
by torch.fx). Findings here are the ones readable from the ONNX graph: parallel 1x1 convs, conv
chains (through BatchNormalization), rank-1 and rank-deficient weights.
"""
import io
import math
import warnings
from collections import defaultdict

from .cost import layer_macs
from .findings import rank_findings
from .roles import feeds_layer, rule_role
from .table import Inspection, add_totals, make_row

_KINDS = {"Conv": "layer", "Gemm": "layer", "BatchNormalization": "bn", "Add": "add", "Sum": "add",
          "Concat": "join", "Mul": "join", "Softmax": "attention"}


def inspect_onnx(model, inputs, name="model"):
    """An Inspection of an onnx.ModelProto (or a ScriptModule, exported first)."""
    import onnx
    from onnx import numpy_helper, shape_inference

    if not isinstance(model, onnx.ModelProto):
        model = _script_to_onnx(model, inputs)
    _fix_input_shapes(model, inputs)
    model = shape_inference.infer_shapes(model)
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    shapes = {v.name: [d.dim_value if d.HasField("dim_value") else 1 for d in v.type.tensor_type.shape.dim]
              for v in list(g.value_info) + list(g.input) + list(g.output)}
    view = OnnxView(g, inits)
    feeds = feeds_layer(view)
    result = Inspection(name, [list(t.shape) for t in inputs])
    total_macs, convs = 0, {}
    for i, node in enumerate(g.node):
        macs = node_macs(node, inits, shapes)
        total_macs += macs
        w = inits.get(node.input[1]) if node.op_type == "Conv" and len(node.input) > 1 else None
        if w is None or any(k != 1 for k in w.shape[2:]):
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        groups, stride = attrs.get("group", 1), list(attrs.get("strides", [1] * (w.ndim - 2)))
        params = w.size + (inits[node.input[2]].size if len(node.input) > 2 and node.input[2] in inits else 0)
        out = shapes.get(node.output[0], [])
        role = rule_role(view, feeds, i, w.shape[1] * groups, w.shape[0], stride, out)
        result.rows.append(make_row(node.name or node.output[0], w.shape[1] * groups, w.shape[0],
                                    groups, stride, out[1:], params, macs, role,
                                    kernel=w.shape[2:], input=shapes.get(node.input[0], [])[1:]))
        convs[node.name or node.output[0]] = (node, w, groups, attrs)
    result.findings = _findings(convs, view.readers)
    params = sum(a.size for a in inits.values() if a.dtype.kind == "f")
    return add_totals(result, params, total_macs)


def _script_to_onnx(module, inputs):
    import onnx
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(module, tuple(inputs), buffer, dynamo=False)
    return onnx.load_from_string(buffer.getvalue())


def _fix_input_shapes(model, inputs):
    """Give symbolic input dims the example's sizes so shape inference yields numbers."""
    init_names = {i.name for i in model.graph.initializer}
    graph_inputs = [v for v in model.graph.input if v.name not in init_names]
    for v, t in zip(graph_inputs, inputs):
        dims = v.type.tensor_type.shape.dim
        if len(dims) == t.ndim:
            for d, size in zip(dims, t.shape):
                if not d.HasField("dim_value"):
                    d.dim_value = size


def node_macs(node, inits, shapes):
    """Multiply-adds of one ONNX Conv, Gemm or MatMul node by a weight initializer (else 0)."""
    out = shapes.get(node.output[0]) if node.output else None
    w = inits.get(node.input[1]) if len(node.input) > 1 else None
    if not out or w is None:
        return 0
    if node.op_type == "Conv":
        return layer_macs(out, math.prod(w.shape[1:]))
    a = shapes.get(node.input[0])
    if node.op_type in ("Gemm", "MatMul") and a:  # the reduced axis is the input's last
        return layer_macs(out, a[-1])
    return 0


class OnnxView:
    """An ONNX graph seen through the four questions of roles.feeds_layer (nodes: indices)."""

    def __init__(self, g, inits):
        self.g, self.inits = g, inits
        self.readers = defaultdict(list)  # tensor name -> the nodes that read it
        for node in g.node:
            for name in node.input:
                self.readers[name].append(node)
        self._index = {id(node): i for i, node in enumerate(g.node)}

    def nodes(self):
        return list(range(len(self.g.node)))

    def users(self, i):
        return [self._index[id(u)] for out in self.g.node[i].output for u in self.readers[out]]

    def kind(self, i):
        node = self.g.node[i]
        if node.op_type == "MatMul":  # by a weight: a linear layer; of two activations: attention
            return "layer" if any(x in self.inits for x in node.input) else "attention"
        return _KINDS.get(node.op_type)

    def input_readers(self, i):
        node = self.g.node[i]
        return len(self.readers[node.input[0]]) if node.input else 0


def _findings(convs, users):
    found, siblings = [], defaultdict(list)
    for name, (node, w, groups, attrs) in convs.items():
        found.extend(rank_findings(name, w) if groups == 1 else [])
        if groups == 1:
            key = (node.input[0], tuple(attrs.get("strides", ())), tuple(attrs.get("pads", ())))
            siblings[key].append(name)
        after = users[node.output[0]]
        if len(after) == 1 and after[0].op_type == "BatchNormalization":
            after = users[after[0].output[0]]
        if len(after) == 1 and after[0].op_type == "Conv":
            found.append({"kind": "linear_chain", "modules": [name, after[0].name],
                          "detail": "conv feeds conv with no nonlinearity between"})
    found += [{"kind": "parallel", "modules": names,
               "detail": f"{len(names)} 1x1 convs read {key[0]}; one conv can do all"}
              for key, names in siblings.items() if len(names) > 1]
    return found
