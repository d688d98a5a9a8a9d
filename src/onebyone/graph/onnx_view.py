"""An ONNX graph seen through the four questions of roles.feeds_layer, as a PyTorch model's
graph would answer them.

Exporters add nodes a PyTorch graph does not have; the view looks through them so the role
rules read the same facts from both:

- layout ops (Transpose, Reshape, Flatten): tf2onnx writes a Transpose before and after every
  conv to keep Keras' NHWC layout, and TensorFlow's tensordot a Reshape around a Dense's MatMul;
- a layer's bias Add: a Linear on tokens exports as MatMul + Add (a constant of Cout values),
  and some exporters write a conv's bias as an Add too; it is read as part of the layer.

Names: a layer's module path where torch's exporters keep it (the weight's name, the dynamo
exporter's name scopes, TorchScript's node scopes), so an export's rows read like its model's.
"""
import ast
from collections import defaultdict

_KINDS = {"Conv": "layer", "Gemm": "layer", "BatchNormalization": "bn", "Add": "add", "Sum": "add",
          "Concat": "join", "Mul": "join", "Softmax": "attention", "Split": "view", "Slice": "view",
          "Gather": "view", "Squeeze": "view", "Unsqueeze": "view", "Transpose": "view",
          "Reshape": "view", "Flatten": "view"}
LAYOUT = {"Transpose", "Reshape", "Flatten"}


class OnnxView:
    """nodes(), users(i), kind(i), input_readers(i) of graph ``g`` (nodes are indices into
    g.node); ``inits`` maps initializer names to arrays, ``shapes`` tensor names to static dims."""

    def __init__(self, g, inits, shapes):
        self.g, self.inits, self.shapes = g, inits, shapes
        self.readers = defaultdict(list)  # tensor name -> indices of the nodes that read it
        self.producer = {}
        for i, node in enumerate(g.node):
            for name in node.input:
                self.readers[name].append(i)
            for name in node.output:
                self.producer[name] = i
        self.bias = {i: a for i in self.nodes() if (a := self._bias_add(i)) is not None}

    def nodes(self):
        return list(range(len(self.g.node)))

    def users(self, i):
        last = self.g.node[self.bias.get(i, i)]
        return [u for out in last.output for u in self._through(out)]

    def kind(self, i):
        node = self.g.node[i]
        if node.op_type == "MatMul":  # by a weight: a linear layer; of two activations: attention
            return "layer" if self.weight(i) is not None else "attention"
        return _KINDS.get(node.op_type)

    def input_readers(self, i):
        node = self.g.node[i]
        return len(self._through(self.source(node.input[0]))) if node.input else 0

    def name(self, i):
        """Node i's module path: in its weight's name (torch's exporters write
        'layer1.0.conv1.weight', onnxruntime's quantizer its dequantized copy
        'layer1.0.conv1.weight_DequantizeLinear_Output'), else as for any node (node_path)."""
        node = self.g.node[i]
        weight = node.input[1].removesuffix("_DequantizeLinear_Output") if len(node.input) > 1 else ""
        if weight.endswith(".weight"):
            return weight[: -len(".weight")]
        return node_path(node)

    def weight(self, i):
        """The constant weight of a Conv, Gemm or MatMul node (its second input), or None."""
        node = self.g.node[i]
        if node.op_type in ("Conv", "Gemm", "MatMul") and len(node.input) > 1:
            return self.inits.get(node.input[1])
        return None

    def source(self, name):
        """The tensor ``name`` is a layout of (through the Transposes and Reshapes before it)."""
        while name in self.producer and self.g.node[self.producer[name]].op_type in LAYOUT:
            name = self.g.node[self.producer[name]].input[0]
        return name

    def _through(self, name):
        """The nodes reading ``name``, through layout ops after it."""
        found = []
        for r in self.readers[name]:
            node = self.g.node[r]
            found += ([u for out in node.output for u in self._through(out)] if node.op_type in LAYOUT
                      else [r])
        return found

    def _bias_add(self, i):
        """The Add that adds a bias to layer i's output (its only reader, adding a constant of
        Cout values along the channel axis), or None."""
        node, w = self.g.node[i], self.weight(i)
        readers = self.readers[node.output[0]] if w is not None else []
        if len(readers) != 1 or self.g.node[readers[0]].op_type != "Add":
            return None
        add = self.g.node[readers[0]]
        bias = [self.inits.get(x) for x in add.input if x != node.output[0]]
        out = self.shapes.get(node.output[0])
        if len(bias) != 1 or bias[0] is None or not out or self.shapes.get(add.output[0]) != out:
            return None
        axis = 1 if node.op_type == "Conv" else len(out) - 1
        cout = w.shape[0] if node.op_type == "Conv" else out[-1]
        dims = [1] * (len(out) - bias[0].ndim) + list(bias[0].shape)
        return readers[0] if dims == [cout if k == axis else 1 for k in range(len(out))] else None


def node_path(node):
    """The module path of the dynamo exporter's name scopes or TorchScript's node scope, else
    the node's name or output."""
    scopes = {m.key: m.value for m in node.metadata_props}.get("pkg.torch.onnx.name_scopes", "[]")
    try:  # "['', 'attn', 'attn.qkv', 'linear']": module paths, then the op
        module = ast.literal_eval(scopes)[-2]
    except (ValueError, SyntaxError, IndexError, TypeError):  # not the dynamo exporter's
        module = None
    return (module if isinstance(module, str) and module else scope_path(node.name)
            or node.name or node.output[0])


def scope_path(name):
    """The module path in a TorchScript export's node name ('' if it holds none): each scope
    names a module by its path in its parent, a Sequential's child extending its parent's name.

    >>> scope_path("/features/features.1/block/block.2/block.2.0/Conv"), scope_path("Conv_3")
    ('features.1.block.2.0', '')
    """
    path = []
    for part in name.split("/")[1:-1] if name.startswith("/") else []:
        if path and part.startswith(path[-1] + "."):
            path[-1] = part
        else:
            path.append(part)
    return ".".join(path)
