"""The "openvino" target: the model's ONNX export read by OpenVINO, compiled for the CPU.

Compile settings (OpenVINO property names): subnormals flushed (CPU_DENORMALS_OPTIMIZATION),
float32 inference precision (a CPU with bf16 units would otherwise run in bf16 and lose the
proof), latency mode (one request at a time, batch as given).
Artifact: OpenVINO IR, name.xml + name.bin, float32 weights (save_model compresses to fp16 by
default); both files are written or neither. The signature is in the IR's runtime info.
"""
import os
import shutil
import tempfile

import torch

from ...errors import OneByOneError
from .base import Engine, Signature, Spec, numpy_inputs, require
from .export import onnx_bytes

_KEY = "onebyone_signature"
SPEC = Spec("openvino", "openvino", "openvino", (".xml", ".bin"))  # the registry's row (engines/__init__)


class OpenVinoEngine(Engine):
    spec = SPEC

    def __init__(self, model, signature):
        super().__init__(signature)
        self.model = model  # the ov.Model: what save() writes
        self.compiled = _compile(model)
        self.request = self.compiled.create_infer_request()

    def run(self, inputs):
        result = self.request.infer(numpy_inputs(inputs), share_inputs=True)
        return [torch.from_numpy(result[o]) for o in self.compiled.outputs]

    def write(self, path):
        import openvino as ov

        bin_path = os.path.splitext(path)[0] + ".bin"
        tmp = tempfile.mkdtemp(dir=os.path.dirname(path) or ".", prefix=".onebyone-")
        try:
            ov.save_model(self.model, os.path.join(tmp, "m.xml"), compress_to_fp16=False)
            os.replace(os.path.join(tmp, "m.bin"), bin_path)
            try:
                os.replace(os.path.join(tmp, "m.xml"), path)
            except BaseException:
                os.unlink(bin_path)  # neither file rather than a .bin without its .xml
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def artifact_files(self, path):
        return [path, os.path.splitext(path)[0] + ".bin"]


def build(model, example, signature):
    return from_onnx(onnx_bytes(model, example), signature)


def from_onnx(data, signature):
    """An engine over serialized ONNX (the export, or its int8 QDQ form) with the signature."""
    require(SPEC.package, SPEC.extra)
    import openvino as ov

    ov_model = ov.Core().read_model(data)
    ov_model.set_rt_info(signature.dumps(), _KEY)
    return OpenVinoEngine(ov_model, signature)


def load(path):
    require(SPEC.package, SPEC.extra)
    import openvino as ov

    model = ov.Core().read_model(path)
    if not model.has_rt_info(_KEY):
        raise OneByOneError(f"expected OpenVINO IR written by onebyone optimize; {path!r} has no "
                            "onebyone signature in its runtime info")
    return OpenVinoEngine(model, Signature.loads(model.get_rt_info(_KEY).astype(str)))


def _compile(model):
    import openvino as ov
    import openvino.properties.hint as hint
    import openvino.properties.intel_cpu as intel_cpu

    config = {intel_cpu.denormals_optimization: True,
              hint.inference_precision: ov.Type.f32,
              hint.performance_mode: hint.PerformanceMode.LATENCY}
    return ov.Core().compile_model(model, "CPU", config)
