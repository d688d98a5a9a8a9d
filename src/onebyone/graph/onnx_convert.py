"""An ONNX model as a torch.fx graph the passes rewrite, and onnxruntime running the original file
as the reference every step is proven against.

The converter is onnx2torch (``convert``): a Conv becomes an ``nn.ConvNd``, a BatchNormalization on
constants an ``nn.BatchNormNd``, a Gemm by a constant matrix an ``nn.Linear``, and a MatMul by a
constant matrix (plus its bias Add) an ``nn.Linear`` too and a conv padded more on one side a
pad then an ``nn.ConvNd`` (onnx_modules), so fold_bn, collapse and merge_parallel find what they
find in a PyTorch model. Before it runs, the model
goes through the one ONNX front end (onnx_read: symbolic dims from the example, weights behind
Constant/Identity nodes made initializers). onnx2torch 1.5 has converters up to opset 17 (no
Identity-19, ReduceMean-18 or Reshape-19, which torch's exporter writes at opset 20): a model it
cannot convert at its own opset is first converted down with onnx's version converter. A Reshape
by a constant shape without zeros drops ``allowzero`` (it only changes what a 0 means), which
onnx2torch refuses and torch's dynamo exporter always sets. An op still left without a converter
is one OneByOneError naming them all.
"""
import keyword

import torch

from ..errors import OneByOneError, cause_line, first_line
from .engines.export import IO_NAMES
from .onnx_modules import matmuls_to_linear, split_padded_convs
# is_onnx is optimize's, re-exported
from .onnx_read import graph_inputs, is_onnx, read_onnx, static_shapes  # noqa: F401

OPSET = 17  # the newest opset every onnx2torch 1.5 converter the torchvision models need covers


def to_torch(model, inputs):
    """The torch.fx GraphModule of the onnx.ModelProto ``model`` at the example ``inputs``'
    shapes, in eval mode; its meta[IO_NAMES] holds the file's input and output names, which
    the engines' ONNX export gives back. One output is a tensor, several a tuple.

    >>> import onnx
    >>> from onnx import helper, numpy_helper, TensorProto
    >>> w = numpy_helper.from_array(torch.ones(4, 3, 1, 1).numpy(), "w")
    >>> g = helper.make_graph([helper.make_node("Conv", ["image", "w"], ["y"])], "g",
    ...     [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 8, 8])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    >>> gm = to_torch(helper.make_model(g), (torch.ones(2, 3, 8, 8),))
    >>> [type(m).__name__ for m in gm.children()], gm.meta[IO_NAMES], gm.training
    (['Conv2d'], {'inputs': ['image'], 'outputs': ['y']}, False)
    """
    from onnx2torch import convert

    proto = _convertible(read_onnx(model, [tuple(t.shape) for t in inputs]))
    _drop_allowzero(proto.graph)
    _explicit_conv_pads(proto)
    names = [v.name for v in graph_inputs(proto.graph)]
    try:  # the graph's inputs are named as the file's where Python allows the names
        gm = convert(proto, save_input_names=all(n.isidentifier() and not keyword.iskeyword(n)
                                                 for n in names))
    except Exception as e:  # a converter that exists but refuses this node's attributes
        raise OneByOneError(f"expected an ONNX model onnx2torch can convert; it failed: "
                            f"{cause_line(e)}") from e
    gm.meta[IO_NAMES] = {"inputs": [v.name for v in graph_inputs(model.graph)],
                         "outputs": [v.name for v in model.graph.output]}
    matmuls_to_linear(gm)
    split_padded_convs(gm)
    return _tuple_outputs(gm).eval()


def fixed_shape(model):
    """The input shape of an ONNX model with one input whose dims are all fixed, else None.

    >>> from onnx import helper, TensorProto
    >>> g = helper.make_graph([], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])], [])
    >>> fixed_shape(helper.make_model(g)), fixed_shape(helper.make_model(helper.make_graph([], "g", [], [])))
    ((1, 3, 8, 8), None)
    """
    inputs = graph_inputs(model.graph)
    dims = inputs[0].type.tensor_type.shape.dim if len(inputs) == 1 else []
    if not dims or not all(d.HasField("dim_value") for d in dims):
        return None
    return tuple(d.dim_value for d in dims)


def reference(model, inputs):
    """onnxruntime running ``model`` itself (its own dims, nothing folded or converted), as an
    engine callable on torch tensors of the example's shapes: what the rewrites answer to."""
    from .engines.base import Signature
    from .engines.ort import OnnxRuntimeEngine

    engine = OnnxRuntimeEngine(model.SerializeToString(), None)
    try:
        with torch.no_grad():
            outputs = engine.run(inputs)
    except Exception as e:
        raise OneByOneError(f"expected inputs the ONNX model accepts; onnxruntime rejected shapes "
                            f"{[list(t.shape) for t in inputs]}: {first_line(e)}") from e
    engine.signature = Signature.of(inputs, outputs[0] if len(outputs) == 1 else tuple(outputs))
    return engine.eval()


def missing_ops(model):
    """The op types in model's graph onnx2torch has no converter for at its opset, sorted."""
    from onnx2torch.node_converters import get_converter

    opset = {o.domain or "": o.version for o in model.opset_import}
    missing = set()
    for node in model.graph.node:
        try:
            get_converter(node.op_type, opset.get(node.domain or "", 1), node.domain or "")
        except NotImplementedError:
            missing.add(node.op_type if not node.domain else f"{node.domain}.{node.op_type}")
    return sorted(missing)


def _convertible(proto):
    """proto, or proto converted down to OPSET where that gives onnx2torch a converter for every
    op; else one OneByOneError naming the ops it cannot convert."""
    missing = missing_ops(proto)
    opset = max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if missing and opset > OPSET:
        from onnx import version_converter

        try:
            lower = version_converter.convert_version(proto, OPSET)
        except Exception:  # no adapter for some op: report the ops at the file's own opset
            lower = None
        if lower is not None:
            proto, missing = lower, missing_ops(lower)
    if missing:
        raise OneByOneError(f"expected an ONNX model onnx2torch can convert; got ops it cannot: "
                            f"{', '.join(missing)} (opset {opset})")
    return proto


def _drop_allowzero(graph):
    """allowzero only says what a 0 in the target shape means: without zeros it changes nothing."""
    from onnx import numpy_helper

    shapes = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        target = shapes.get(node.input[1]) if node.op_type == "Reshape" else None
        if target is not None and not (target == 0).any():
            kept = [a for a in node.attribute if a.name != "allowzero"]
            del node.attribute[:]
            node.attribute.extend(kept)


def _explicit_conv_pads(proto):
    """A Conv's auto_pad SAME_UPPER / SAME_LOWER (tf2onnx writes it where shapes were unknown;
    onnx2torch refuses it) as the explicit pads ONNX defines it to mean at the now static input
    size: total = max(0, (ceil(in / stride) - 1) * stride + (k - 1) * dilation + 1 - in), the odd
    pixel at the end (UPPER) or the start (LOWER)."""
    from onnx import helper

    shapes = static_shapes(proto)
    for node in proto.graph.node:
        attrs = {a.name: a for a in node.attribute}
        mode = attrs["auto_pad"].s.decode() if "auto_pad" in attrs else "NOTSET"
        if node.op_type != "Conv" or mode not in ("SAME_UPPER", "SAME_LOWER") \
                or node.input[0] not in shapes or node.input[1] not in shapes:
            continue
        size, kernel = shapes[node.input[0]][2:], shapes[node.input[1]][2:]
        strides = list(attrs["strides"].ints) if "strides" in attrs else [1] * len(size)
        dilations = list(attrs["dilations"].ints) if "dilations" in attrs else [1] * len(size)
        totals = [max(0, (-(-n // s) - 1) * s + (k - 1) * d + 1 - n)
                  for n, k, s, d in zip(size, kernel, strides, dilations)]
        small = [t // 2 for t in totals]
        begins = small if mode == "SAME_UPPER" else [t - h for t, h in zip(totals, small)]
        kept = [a for a in node.attribute if a.name not in ("auto_pad", "pads")]
        del node.attribute[:]
        node.attribute.extend(kept)
        ends = [t - b for t, b in zip(totals, begins)]
        node.attribute.append(helper.make_attribute("pads", begins + ends))


def _tuple_outputs(gm):
    """onnx2torch returns several outputs as a list; models (and the reference) give a tuple."""
    out = next(n for n in gm.graph.nodes if n.op == "output")
    if isinstance(out.args[0], (list, tuple)):
        out.args = (tuple(out.args[0]),)
        gm.recompile()
    return gm
