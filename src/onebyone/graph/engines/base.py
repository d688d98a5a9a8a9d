"""What every engine shares: the call signature it was built for, a torch-in/torch-out wrapper,
flushed subnormals, and artifacts written whole (then re-loaded and re-verified).

An engine session (onnxruntime, OpenVINO, an AOTInductor package) takes flat arrays and gives
flat arrays; the wrapper checks the inputs against the example the engine was built and
verified for, and puts the outputs back into the model's own structure (tensor, tuple, dict).
"""
import contextlib
import importlib
import importlib.util
import json
import os
from typing import NamedTuple

import torch
from torch import nn
from torch.utils._pytree import tree_flatten, tree_unflatten, treespec_dumps, treespec_loads

from ...errors import OneByOneError, cause_line, not_installed
from ..settings import denormals_flushed


class Spec(NamedTuple):
    """What an engine module says of itself, once (its SPEC); the package's registry
    (engines/__init__) derives the target list, the suffix table, the install messages and the
    check of a target's name from these."""

    target: str
    package: str | None  # the package it needs beyond torch, or None
    extra: str | None    # the onebyone extra that installs that package
    suffixes: tuple      # its artifact's: the first names the file, the others lie beside it


def require(module, extra):
    """The module's name if it is installed; else one OneByOneError naming the extra to install.

    >>> require("no_such_engine", "onnx")
    Traceback (most recent call last):
    onebyone.errors.OneByOneError: expected the no_such_engine package for this target; it is not installed (pip install 'onebyone[onnx]')
    """
    if importlib.util.find_spec(module) is None:
        raise not_installed(module, "for this target", extra)
    return module


class Signature:
    """The inputs (shapes, dtypes) an engine was built for and its outputs' structure.

    >>> s = Signature.of((torch.zeros(1, 3),), (torch.zeros(2), {"b": torch.zeros(1)}))
    >>> Signature.loads(s.dumps()).inputs
    [((1, 3), 'float32')]
    """

    def __init__(self, inputs, outputs):
        self.inputs, self.outputs = [(tuple(s), str(d)) for s, d in inputs], outputs

    @classmethod
    def of(cls, example, result):
        leaves, spec = tree_flatten(result)
        bad = [type(x).__name__ for x in leaves if not isinstance(x, torch.Tensor)]
        if bad:
            raise OneByOneError("expected a model whose outputs are tensors (alone or in tuples, "
                                f"lists, dicts); got outputs of type {', '.join(sorted(set(bad)))}")
        return cls([(t.shape, _dtype_name(t)) for t in example], spec)

    def dumps(self):
        return json.dumps({"inputs": self.inputs, "outputs": treespec_dumps(self.outputs)})

    @classmethod
    def loads(cls, text):
        data = json.loads(text)
        return cls(data["inputs"], treespec_loads(data["outputs"]))

    def check(self, inputs, static=True):
        """One OneByOneError if inputs differ from the example in count, dtype or (static) shape."""
        want = ", ".join(f"{tuple(s)} {d}" for s, d in self.inputs)
        got = ", ".join(f"{tuple(t.shape)} {_dtype_name(t)}" if isinstance(t, torch.Tensor)
                        else type(t).__name__ for t in inputs)
        same = len(inputs) == len(self.inputs) and all(
            isinstance(t, torch.Tensor) and _dtype_name(t) == d
            and (tuple(t.shape) == s if static else t.ndim == len(s))
            for t, (s, d) in zip(inputs, self.inputs))
        if not same:
            raise OneByOneError(f"expected inputs like the example this engine was built and "
                                f"verified for ({want}); got ({got})")


def _dtype_name(t):
    return str(t.dtype).removeprefix("torch.")


class Engine(nn.Module):
    """A model running in one engine, callable like the original on torch tensors.

    Subclasses set ``spec`` (their module's SPEC: target, suffixes) and define
    ``run(arrays or tensors) -> list`` and ``write(path)``; their module defines ``load(path)``;
    ``static_shapes`` False lets other sizes of the same rank through.
    """

    spec, static_shapes = None, True

    @property
    def target(self):
        return self.spec.target

    @property
    def suffixes(self):
        return self.spec.suffixes

    def __init__(self, signature):
        super().__init__()
        self.signature = signature
        self.warmup_s = None   # seconds from the start of the build to the first output
        self.verified = None   # set by engines.verify: inputs, reference outputs, error, tolerance

    @torch.no_grad()
    def forward(self, *inputs):
        self.signature.check(inputs, self.static_shapes)
        # onnxruntime and OpenVINO flush subnormals in their own threads, but set the flags on
        # the calling thread only while creating a session, and the caller's thread does its
        # share of the work: flush here for every engine, and give the caller its setting back.
        with denormals_flushed():
            return tree_unflatten(list(self.run(inputs)), self.signature.outputs)

    def run(self, inputs):
        raise NotImplementedError

    def write(self, path):
        raise NotImplementedError

    def save(self, path):
        """Write the engine's artifact to path whole, re-load it and re-check it against the
        original model's outputs recorded by verify; the path as written (a str)."""
        # The module that defines this engine reads its artifact back: no import up into the
        # package that gathers the engines.
        load = importlib.import_module(type(self).__module__).load
        path = os.fspath(path)
        if not path.endswith(self.suffixes[0]):
            raise OneByOneError(f"expected a {self.suffixes[0]} path for the {self.target} target; "
                                f"got {path!r}")
        if self.verified is None:
            raise OneByOneError("expected a verified engine to save (engines.build verifies); "
                                "got one never compared with its model")
        self.write(path)
        try:
            with denormals_flushed():  # sessions set the flags while loading: ours restores them
                again = load(path)
            err = _error_on(again, self.verified)
        except Exception as e:
            remove(self.artifact_files(path))
            raise OneByOneError(f"expected {path!r} to re-load; it did not: {cause_line(e)}") from e
        if not err <= self.verified["tolerance"]:
            remove(self.artifact_files(path))
            raise OneByOneError(f"expected the saved {self.target} artifact to reproduce the model "
                                f"within {self.verified['tolerance']:.0e}; its error is {err:.2e}")
        return path

    def artifact_files(self, path):
        return [path]

    def extra_repr(self):
        return f"target={self.target!r}, inputs={self.signature.inputs}"


def _error_on(engine, verified):
    from .. import verify

    with denormals_flushed():
        got = [engine(*inputs) for inputs in verified["inputs"]]
    return verify.error(verified["reference"], got)


def remove(paths):
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)


def numpy_inputs(inputs):
    """Contiguous NumPy views of torch tensors (no copy when already contiguous on the CPU)."""
    return [t.detach().cpu().contiguous().numpy() for t in inputs]
