"""The "compile" target: torch.compile with the inductor backend and freezing for inference.

Freezing (torch._inductor.config.freezing) folds the weights into the compiled graph as
constants, which lets inductor pre-pack them and fold BatchNorm/constant arithmetic; it is set
only inside our calls (config.patch), never left on for the user's other compiled code. Every
call runs under no_grad, outside inference_mode, so dynamo's guards hold: nothing recompiles.
Warm-up (the first call compiles) is 10-45 s per model here.

Artifact: an AOTInductor package (.pt2) built from torch.export of the same module with the
same freezing; it is compiled again (a second warm-up) and re-verified on load.
"""
import copy
import os
import tempfile

import torch

from ..._files import write_atomic
from ...errors import OneByOneError, cause_line
from .base import Engine, Signature, Spec

_KEY = "onebyone_signature"
SPEC = Spec("compile", None, None, (".pt2",))  # the registry's row (engines/__init__)


def _frozen():
    import torch._inductor.config

    return torch._inductor.config.patch(freezing=True)


class CompileEngine(Engine):
    spec = SPEC

    def __init__(self, module, example, signature):
        super().__init__(signature)
        self.module, self.example = module, tuple(example)
        self.compiled = torch.compile(module, backend="inductor", dynamic=False)

    def run(self, inputs):
        # Called under inference_mode, dynamo would see other flags and recompile (seconds,
        # without freezing's guarantees): leave it, with inference tensors copied out of it.
        with torch.inference_mode(False), _frozen():
            inputs = [t.clone() if t.is_inference() else t for t in inputs]
            return _flat(self.compiled(*inputs))

    def write(self, path):
        from torch._inductor import aoti_compile_and_package

        try:
            program = torch.export.export(self.module, self.example)
        except Exception as e:
            raise OneByOneError(f"expected a model torch.export can export for an AOTInductor "
                                f"package; {cause_line(e)}") from e
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".onebyone-", suffix=".pt2")
        os.close(fd)
        try:
            configs = {"freezing": True, "aot_inductor.metadata": {_KEY: self.signature.dumps()}}
            aoti_compile_and_package(program, package_path=tmp, inductor_configs=configs)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise


class PackageEngine(Engine):
    """A loaded AOTInductor package: compiled ahead of time, nothing to warm up."""

    spec = SPEC

    def __init__(self, package, signature, source):
        super().__init__(signature)
        self.package, self.source = package, source

    def run(self, inputs):
        return _flat(self.package(*inputs))

    def write(self, path):
        with open(self.source, "rb") as f:
            data = f.read()
        write_atomic(path, lambda out: out.write(data), "wb")


def build(model, example, signature):
    return CompileEngine(copy.deepcopy(model).eval(), example, signature)


def load(path):
    from torch._inductor import aoti_load_package

    package = aoti_load_package(path)
    meta = package.get_metadata()
    if _KEY not in meta:
        raise OneByOneError(f"expected an AOTInductor package written by onebyone optimize; "
                            f"{path!r} has no onebyone signature in its metadata")
    return PackageEngine(package, Signature.loads(meta[_KEY]), path)


def _flat(result):
    return torch.utils._pytree.tree_flatten(result)[0]
