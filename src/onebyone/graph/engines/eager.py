"""The "torch" target: the (rewritten) model itself, run eagerly by PyTorch.

Artifact: the pickled GraphModule (.pt) with the signature as an attribute, so torch.load
gives back a module that runs without onebyone's wrapper.
"""
import copy
import io

import torch

from ..._files import write_atomic
from ...errors import OneByOneError
from .base import Engine, Spec, Signature

_ATTRIBUTE = "onebyone_signature"
SPEC = Spec("torch", None, None, (".pt",))  # the registry's row (engines/__init__)


class TorchEngine(Engine):
    """PyTorch eager mode; other sizes of the same rank pass (the module is shape-generic)."""

    spec, static_shapes = SPEC, False

    def __init__(self, module, signature):
        super().__init__(signature)
        self.module = module

    def run(self, inputs):
        return _flat(self.module(*inputs))

    def write(self, path):
        module = copy.deepcopy(self.module)
        setattr(module, _ATTRIBUTE, self.signature.dumps())
        buffer = io.BytesIO()
        torch.save(module, buffer)
        write_atomic(path, lambda f: f.write(buffer.getvalue()), "wb")


def build(model, example, signature):
    return TorchEngine(copy.deepcopy(model).eval(), signature)


def load(path):
    module = torch.load(path, map_location="cpu", weights_only=False)
    if not hasattr(module, _ATTRIBUTE):
        raise OneByOneError(f"expected a .pt module written by onebyone optimize; {path!r} has "
                            "no onebyone signature")
    return TorchEngine(module, Signature.loads(getattr(module, _ATTRIBUTE)))


def _flat(result):
    return torch.utils._pytree.tree_flatten(result)[0]
