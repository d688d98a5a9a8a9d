"""ONNX files as four exporters write them, each from a PyTorch twin whose inspect they must match.

Made here, nothing downloaded:
- torch.onnx.export, TorchScript exporter (dynamo=False) and torch.export-based (dynamo=True),
  static or with dynamic batch and size (the exporters' own output, so their conventions are real);
- paddle_style: a TorchScript export rewritten as paddle2onnx writes a model: every weight a
  Constant node (no initializers), a conv's bias a separate Add of a (1, C, 1, 1) constant
  (Paddle's conv2d has no bias; elementwise_add on axis 1 adds it), BatchNormalization kept,
  dynamic input dims, no value_info;
- keras_style: a Keras-shaped model (NHWC) written with onnx.helper as tf2onnx converts it, for
  Keras is not installed here (and tf2onnx needs TensorFlow): see its docstring.
"""
import io
import warnings

import numpy as np
import onnx
import torch
import torchvision
from onnx import TensorProto, helper, numpy_helper
from torch import nn
from torch.nn import functional as F


class Attention(nn.Module):
    """Self-attention on tokens (N, T, C): one qkv Linear, softmax, a projection."""

    def __init__(self, c):
        super().__init__()
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)

    def forward(self, t):
        q, k, v = self.qkv(t).chunk(3, dim=-1)
        a = torch.softmax(q @ k.transpose(1, 2) * q.shape[-1] ** -0.5, dim=-1)
        return self.proj(a @ v)


class Det(nn.Module):
    """A MobileNet-style text detector like the issue's: MobileNetV3 features (1x1 expand and
    project convs, depthwise 3x3, squeeze-and-excitation gates), 1x1 laterals of an FPN,
    attention on the lowest level's tokens (reshaped back to the level's own shape: a Shape
    subgraph when dims are dynamic), and a 1x1 probability head. Sizes: multiples of 32."""

    def __init__(self):
        super().__init__()
        features = torchvision.models.mobilenet_v3_small(weights=None).features
        self.c3, self.c4, self.c5 = features[:4], features[4:9], features[9:]  # strides 8, 16, 32
        self.lat3, self.lat4, self.lat5 = nn.Conv2d(24, 16, 1), nn.Conv2d(48, 16, 1), nn.Conv2d(576, 16, 1)
        self.attn = Attention(16)
        self.fuse = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 1, 1))

    def forward(self, x):
        c3 = self.c3(x)
        c4 = self.c4(c3)
        c5 = self.c5(c4)
        p5 = self.lat5(c5)
        t = p5.flatten(2).transpose(1, 2)
        t = t + self.attn(t)
        p5 = t.transpose(1, 2).reshape(p5.shape)
        p4 = self.lat4(c4) + F.interpolate(p5, scale_factor=2.0)
        p3 = self.lat3(c3) + F.interpolate(p4, scale_factor=2.0)
        return torch.sigmoid(self.fuse(p3))


def det(seed=0):
    torch.manual_seed(seed)
    return Det().eval()


def torch_export(model, x, dynamo=False, dynamic=False, keep_bn=False):
    """model exported by torch.onnx.export; dynamic: batch, height and width symbolic; keep_bn:
    BatchNormalization nodes kept and nothing constant-folded (TorchScript exporter only)."""
    kwargs = {"training": torch.onnx.TrainingMode.PRESERVE, "do_constant_folding": False} if keep_bn else {}
    if dynamic and dynamo:
        kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch"), 2: torch.export.Dim("h", min=32),
                                     3: torch.export.Dim("w", min=32)},)
    elif dynamic:
        kwargs["dynamic_axes"] = {"x": {0: "batch", 2: "height", 3: "width"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        if dynamo:
            return torch.onnx.export(model, (x,), dynamo=True, input_names=["x"], verbose=False,
                                     **kwargs).model_proto
        buffer = io.BytesIO()
        torch.onnx.export(model, (x,), buffer, dynamo=False, input_names=["x"], **kwargs)
    return onnx.load_from_string(buffer.getvalue())


def paddle_style(model):
    """model (an ONNX export) rewritten in paddle2onnx's conventions (module docstring)."""
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    weights, nodes = {}, []
    for node in g.node:
        if node.op_type == "Identity" and node.input[0] in inits:  # torch's shared weights
            inits[node.output[0]] = inits[node.input[0]]
        elif node.op_type == "Conv" and len(node.input) > 2:  # conv2d, then elementwise_add(axis=1)
            bias = inits[node.input[2]]
            conv_out = node.output[0] + ".conv"
            nodes.append(helper.make_node("Conv", list(node.input[:2]), [conv_out], name=node.name,
                                          **{a.name: helper.get_attribute_value(a) for a in node.attribute}))
            weights[node.input[2] + ".reshaped"] = bias.reshape(1, -1, 1, 1)
            nodes.append(helper.make_node("Add", [conv_out, node.input[2] + ".reshaped"], list(node.output)))
        else:
            nodes.append(node)
    used = {x for n in nodes for x in n.input}
    weights.update({k: v for k, v in inits.items() if k in used})
    constants = [helper.make_node("Constant", [], [k], value=numpy_helper.from_array(v, k))
                 for k, v in weights.items()]
    x = g.input[0]
    dims = ["p2o.DynamicDimension.0", x.type.tensor_type.shape.dim[1].dim_value,
            "p2o.DynamicDimension.1", "p2o.DynamicDimension.2"]
    graph = helper.make_graph(constants + nodes, "paddle", [
        helper.make_tensor_value_info(x.name, TensorProto.FLOAT, dims)], list(g.output))
    out = helper.make_model(graph, opset_imports=list(model.opset_import), producer_name="paddle2onnx")
    out.ir_version = model.ir_version
    return out


class KerasTwin(nn.Module):
    """The PyTorch twin of a small Keras model, which keras_style writes as tf2onnx would.

    Keras layers: Conv2D(8, 3, "same"), Conv2D(16, 1), DepthwiseConv2D(3, "same"), Conv2D(8, 1),
    Add, Conv2D(12, 1, strides=2), Dense(24) and Dense(12) on the NHWC feature map, Add,
    Conv2D(5, 1), GlobalAveragePooling2D(keepdims=True), Flatten, Dense(3)."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.stem, self.expand = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 16, 1)
        self.dw, self.project = nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.Conv2d(16, 8, 1)
        self.down = nn.Conv2d(8, 12, 1, stride=2)
        self.dense1, self.dense2 = nn.Linear(12, 24), nn.Linear(24, 12)
        self.head, self.classifier = nn.Conv2d(12, 5, 1), nn.Linear(5, 3)
        self.eval()

    def forward(self, x):  # NCHW here; the ONNX twin reads NHWC
        x = torch.relu(self.stem(x))
        x = x + self.project(torch.relu(self.dw(torch.relu(self.expand(x)))))
        x = torch.relu(self.down(x))
        t = self.dense2(torch.relu(self.dense1(x.permute(0, 2, 3, 1))))
        x = x + t.permute(0, 3, 1, 2)
        return self.classifier(self.head(x).mean((2, 3)))


class _Writer:
    """Nodes and initializers, named the way tf2onnx names them (model/layer/Op)."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def variable(self, name, tensor):
        """A Keras variable: an initializer read through Identity (ReadVariableOp)."""
        self.const(name, tensor.detach().numpy())
        return self.op("Identity", [name], name=name.rsplit("/", 1)[0] + "/ReadVariableOp")

    def op(self, op_type, inputs, name=None, **attrs):
        self.n += 1
        name = name or f"model/{op_type.lower()}_{self.n}"
        self.nodes.append(helper.make_node(op_type, inputs, [f"{name}:0"], name=name, **attrs))
        return f"{name}:0"

    def conv(self, layer, x, m):
        """Conv2D / DepthwiseConv2D on NHWC x: tf2onnx transposes to NCHW and back around every
        Conv, and fuses BiasAdd into the Conv; the kernel is stored OIHW."""
        k = m.kernel_size[0]
        w = self.variable(f"model/{layer}/Conv2D/kernel", m.weight)
        b = self.variable(f"model/{layer}/BiasAdd/bias", m.bias)
        nchw = self.op("Transpose", [x], perm=[0, 3, 1, 2])
        pad = {"auto_pad": "SAME_UPPER"} if k > 1 else {}
        y = self.op("Conv", [nchw, w, b], name=f"model/{layer}/Conv2D", kernel_shape=[k, k],
                    strides=list(m.stride), group=m.groups, dilations=[1, 1], **pad)
        return self.op("Transpose", [y], perm=[0, 2, 3, 1])

    def dense(self, layer, x, m):
        """Dense on (N, H, W, C): Keras 3's ops.matmul, a MatMul by the (Cin, Cout) kernel, then
        the bias Add."""
        w = self.variable(f"model/{layer}/MatMul/kernel", m.weight.T)
        y = self.op("MatMul", [x, w], name=f"model/{layer}/MatMul")
        return self.op("Add", [y, self.variable(f"model/{layer}/BiasAdd/bias", m.bias)])

    def tensordot(self, layer, x, m):
        """Dense through tf.tensordot: Reshape to (-1, Cin), MatMul, Reshape back to a shape
        computed from the input's dynamic dims (Shape -> Slice -> Concat), then the bias Add."""
        w = self.variable(f"model/{layer}/Tensordot/kernel", m.weight.T)
        flat = self.op("Reshape", [x, self.const(f"model/{layer}/Tensordot/shape", [-1, m.in_features])])
        y = self.op("MatMul", [flat, w], name=f"model/{layer}/Tensordot/MatMul")
        lead = self.op("Slice", [self.op("Shape", [x]), self.const(f"model/{layer}/starts", [0]),
                                 self.const(f"model/{layer}/ends", [3])])
        target = self.op("Concat", [lead, self.const(f"model/{layer}/cout", [m.out_features])], axis=0)
        y = self.op("Reshape", [y, target], name=f"model/{layer}/Tensordot")
        return self.op("Add", [y, self.variable(f"model/{layer}/BiasAdd/bias", m.bias)])


def keras_style(twin):
    """twin (a KerasTwin) as tf2onnx writes the Keras model: NHWC input whose unknown dims are
    named unk__N, a Transpose before and after every Conv (the converter's output before its
    optimizer cancels pairs: the worst case, and what ops it cannot push through keep), kernels
    as initializers read through Identity, bias fused into Conv, depthwise as a grouped Conv,
    'same' padding as auto_pad SAME_UPPER (the dims are not known), Dense as MatMul + Add on the
    4-D tensor (Keras 3) or through tensordot's Reshapes, GlobalAveragePooling2D as ReduceMean
    (keepdims: a 1x1 grid, flattened for the classifier: not a pointwise row)."""
    w = _Writer()
    x = w.conv("conv2d", "input_1", twin.stem)
    x = w.op("Relu", [x])
    y = w.op("Relu", [w.conv("conv2d_1", x, twin.expand)])
    y = w.op("Relu", [w.conv("depthwise_conv2d", y, twin.dw)])
    x = w.op("Add", [x, w.conv("conv2d_2", y, twin.project)])
    x = w.op("Relu", [w.conv("conv2d_3", x, twin.down)])
    t = w.op("Relu", [w.dense("dense", x, twin.dense1)])
    x = w.op("Add", [x, w.tensordot("dense_1", t, twin.dense2)])
    pooled = w.op("ReduceMean", [w.conv("conv2d_4", x, twin.head)], axes=[1, 2], keepdims=1)
    w.dense("dense_2", w.op("Flatten", [pooled], axis=1), twin.classifier)
    w.nodes[-1].output[0] = "dense_2"
    graph = helper.make_graph(w.nodes, "tf2onnx", [
        helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["unk__0", "unk__1", "unk__2", 3])],
        [helper.make_tensor_value_info("dense_2", TensorProto.FLOAT, ["unk__0", 3])], w.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], producer_name="tf2onnx")
    onnx.checker.check_model(model)
    return model
