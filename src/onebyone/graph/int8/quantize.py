"""A float ONNX export -> its static int8 QDQ form, by onnxruntime.quantization's quantize_static.

Settings (onnxruntime.quantization's names): QDQ format, weights QInt8 per output channel,
activations QUInt8 (u8s8, the combination onnxruntime's x86 kernels run fastest), MinMax
calibration. Calibration runs once: its ranges go to quantize_static's calibration cache, so
each later call (another set of layers kept float in nodes_to_exclude, or reduce_range) only
rewrites the graph.

u8s8 on AVX2 without VNNI: the VPMADDUBSW instruction onnxruntime uses can saturate its 16-bit
sums; onnxruntime's documentation suggests reduce_range (7-bit weights) as the remedy. Which
one is more accurate is measured per model on the held-out inputs (graph.int8.search), never
assumed; on a CPU with VNNI reduce_range only costs precision.

>>> import torch
>>> from onebyone.graph.engines.export import onnx_bytes
>>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 3)).eval()
>>> q = Quantizer(onnx_bytes(model, (torch.randn(1, 3, 8, 8),)), [(torch.randn(1, 3, 8, 8),)] * 2)
>>> [(layer["module"], layer["kind"]) for layer in q.layers]
[('0', 'pointwise'), ('2', 'conv')]
>>> first, last = (layer["node"] for layer in q.layers)
>>> int8_layers(q()) == {first, last}, int8_layers(q(exclude=[last])) == {first}
(True, True)
"""
import contextlib
import logging
import os
import tempfile

from ...errors import OneByOneError, cause_line

LAYERS = ("Conv", "Gemm", "MatMul")  # the ops with multiply-adds: the ones worth int8


class Quantizer:
    """quantizer(exclude=(), reduce_range=False) -> QDQ ONNX bytes; ``layers`` lists the
    candidates: {"node", "module", "kind" (pointwise, depthwise, conv, linear), "macs"}."""

    def __init__(self, data, calibration):
        import onnx

        self.model = onnx.load_from_string(data)
        self.layers = _layers(self.model)
        self.total_macs = sum(layer["macs"] for layer in self.layers)
        self._dir = tempfile.TemporaryDirectory(prefix="onebyone-int8-")
        self._cache = os.path.join(self._dir.name, "ranges.json")
        # quantize_static is given a path: given a ModelProto, it moves its weights to external
        # data in place, and the next call would read a deleted file.
        self._float = os.path.join(self._dir.name, "float.onnx")
        with open(self._float, "wb") as f:
            f.write(data)
        self._calibration = calibration

    def __call__(self, exclude=(), reduce_range=False):
        from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

        out = os.path.join(self._dir.name, "int8.onnx")
        reader = None if os.path.exists(self._cache) else _Reader(self.model, self._calibration)
        try:
            with _quiet():
                quantize_static(self._float, out, reader, quant_format=QuantFormat.QDQ, per_channel=True,
                                reduce_range=reduce_range, activation_type=QuantType.QUInt8,
                                weight_type=QuantType.QInt8, nodes_to_exclude=list(exclude),
                                calibration_cache_path=self._cache)
        except Exception as e:
            raise OneByOneError(f"expected onnxruntime.quantization to quantize the model; "
                                f"{cause_line(e)}") from e
        with open(out, "rb") as f:
            return f.read()


def int8_layers(data):
    """Names of the layers of serialized QDQ ONNX that run in int8 (onnx_inspect.int8_layers)."""
    import onnx

    from ..onnx_inspect import int8_layers as of_graph

    return of_graph(onnx.load_from_string(data).graph)


def _layers(model):
    import onnx
    from onnx import numpy_helper

    from ..onnx_inspect import node_macs

    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(g.value_info) + list(g.input) + list(g.output)}
    found = []
    for node in g.node:
        w = inits.get(node.input[1]) if node.op_type in LAYERS and len(node.input) > 1 else None
        if w is None:
            continue
        found.append({"node": node.name, "module": module_of(node), "kind": _kind(node, w),
                      "macs": node_macs(node, inits, shapes)})
    return found


def module_of(node):
    """The torch module a node came from: its weight's name without '.weight' (the exporters
    name weights by the parameters' names), else the node's own name.

    >>> import onnx
    >>> module_of(onnx.helper.make_node("Conv", ["x", "layer1.0.conv1.weight"], ["y"], name="/conv1/Conv"))
    'layer1.0.conv1'
    """
    weight = node.input[1] if len(node.input) > 1 else ""
    return weight.removesuffix(".weight") if weight.endswith(".weight") else node.name


def _kind(node, w):
    if node.op_type != "Conv":
        return "linear"
    groups = next((a.i for a in node.attribute if a.name == "group"), 1)
    if groups > 1 and w.shape[1] == 1:
        return "depthwise"
    return "pointwise" if all(k == 1 for k in w.shape[2:]) else "conv"


class _Reader:
    """onnxruntime's CalibrationDataReader protocol over our input tuples."""

    def __init__(self, model, calibration):
        inits = {i.name for i in model.graph.initializer}
        self.names = [v.name for v in model.graph.input if v.name not in inits]
        self.items = iter(calibration)

    def get_next(self):
        x = next(self.items, None)
        if x is None:
            return None
        return {n: t.detach().cpu().contiguous().numpy() for n, t in zip(self.names, x)}


@contextlib.contextmanager
def _quiet():
    """quantize_static logs advice (pre-process the model) on the root logger: not the user's."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
