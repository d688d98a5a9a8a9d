"""The "onnxruntime" target: the model exported to ONNX, run by an onnxruntime session.

Session settings (names from onnxruntime's session-options config keys):
- intra/inter-op threads do not spin after a call: spinning workers steal the CPU from
  whatever runs next in the process (eager mobilenet_v2 measured 40 ms instead of 18 beside one);
- subnormals flushed to zero (session.set_denormal_as_zero), as in every engine compared;
- every graph optimization on (constant folding, Conv+BN/Add/ReLU fusions, layout changes).
Artifact: the .onnx file, with the signature in its metadata (key "onebyone").
"""
import torch

from ..._files import write_atomic
from ...errors import OneByOneError
from .base import Engine, Signature, Spec, numpy_inputs, require
from .export import onnx_bytes

_KEY = "onebyone"
SPEC = Spec("onnxruntime", "onnxruntime", "onnx", (".onnx",))  # the registry's row (engines/__init__)


class OnnxRuntimeEngine(Engine):
    spec = SPEC

    def __init__(self, data, signature, session=None):
        super().__init__(signature)
        self.data = data  # the serialized ONNX model: what save() writes
        self.session = session or _session(data)
        self.names = [i.name for i in self.session.get_inputs()]

    def run(self, inputs):
        arrays = self.session.run(None, dict(zip(self.names, numpy_inputs(inputs))))
        return [torch.from_numpy(a) for a in arrays]

    def write(self, path):
        write_atomic(path, lambda f: f.write(self.data), "wb")

    def __deepcopy__(self, memo):
        # a session cannot be pickled, and running it changes nothing: copies share it
        twin = OnnxRuntimeEngine(self.data, self.signature, self.session)
        twin.warmup_s, twin.verified, twin.training = self.warmup_s, self.verified, self.training
        return twin


def build(model, example, signature):
    return from_onnx(onnx_bytes(model, example), signature)


def from_onnx(data, signature):
    """An engine over serialized ONNX (the export, or its int8 QDQ form) with the signature."""
    require(SPEC.package, SPEC.extra)
    require("onnx", "onnx")
    import onnx

    proto = onnx.load_from_string(data)
    onnx.helper.set_model_props(proto, {_KEY: signature.dumps()})
    return OnnxRuntimeEngine(proto.SerializeToString(), signature)


def load(path):
    require(SPEC.package, SPEC.extra)
    with open(path, "rb") as f:
        data = f.read()
    session = _session(data)
    meta = session.get_modelmeta().custom_metadata_map
    if _KEY not in meta:
        raise OneByOneError(f"expected an .onnx file written by onebyone optimize; {path!r} has "
                            "no onebyone signature in its metadata")
    return OnnxRuntimeEngine(data, Signature.loads(meta[_KEY]), session)


def _session(data):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.add_session_config_entry("session.set_denormal_as_zero", "1")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no per-node warnings on the console
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
