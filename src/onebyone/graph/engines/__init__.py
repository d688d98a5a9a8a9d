"""Engines: run a model in torch, torch.compile, onnxruntime or OpenVINO, verified in the engine.

build(target, model, example) gives an nn.Module callable like the model on torch tensors (the
engine's session behind a small wrapper), timed to its first output (``warmup_s``) and checked
against the original model inside the engine (``verified``); engine.save(path) writes the
engine's artifact whole, re-loads it and re-checks it; load(path) reads one back.

>>> import torch
>>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.ReLU()).eval()
>>> engine = build("torch", model, (torch.randn(1, 3, 8, 8),))
>>> engine.target, engine.verified["error"] == 0.0
('torch', True)
"""
import copy
import importlib
import importlib.util
import os
import time

import torch

from ...errors import OneByOneError, cause_line
from .. import verify as _verify
from ..speed import denormals_flushed
from .base import Engine, Signature

# target -> (module in this package, the package it needs, the extra that installs it)
TARGETS = {
    "torch": ("eager", None, None),
    "compile": ("inductor", None, None),
    "onnxruntime": ("ort", "onnxruntime", "onnx"),
    "openvino": ("ov", "openvino", "openvino"),
}
SUFFIXES = {".pt": "torch", ".pt2": "compile", ".onnx": "onnxruntime", ".xml": "openvino"}

__all__ = ["TARGETS", "SUFFIXES", "Engine", "available", "build", "from_onnx", "load", "verify", "target_of"]


def available():
    """The targets whose engine package is installed, in TARGETS order.

    >>> targets = available()
    >>> targets[:2], ("onnxruntime" in targets) == (importlib.util.find_spec("onnxruntime") is not None)
    (['torch', 'compile'], True)
    """
    return [t for t, (_, package, _) in TARGETS.items()
            if package is None or importlib.util.find_spec(package) is not None]


def _module(target):
    if target not in TARGETS:
        raise OneByOneError(f"expected a target from {', '.join(TARGETS)}; got {target!r}")
    return importlib.import_module(f".{TARGETS[target][0]}", __name__)


def target_of(path):
    """The target whose artifact a path names, from its suffix; one OneByOneError otherwise.

    >>> target_of("model.xml")
    'openvino'
    """
    suffix = os.path.splitext(os.fspath(path))[1]
    if suffix not in SUFFIXES:
        raise OneByOneError(f"expected an engine artifact ({', '.join(SUFFIXES)}); got {os.fspath(path)!r}")
    return SUFFIXES[suffix]


def build(target, model, example, *, reference=None, n_random=2, seed=0):
    """``model`` running in ``target``, verified against ``reference`` (default: model itself).

    example: a tuple of tensors (the shapes and dtypes the engine is built for). Raises one
    OneByOneError if the engine's package is missing, the model cannot be exported, or the
    engine's outputs differ from the reference's beyond tolerance (see verify).
    """
    example = tuple(example)
    start = time.perf_counter()
    try:
        with denormals_flushed(), torch.no_grad():  # sessions set the flags: ours restores them
            signature = Signature.of(example, copy.deepcopy(model).eval()(*example))
            engine = _module(target).build(model, example, signature)
            engine(*example)  # the first output: compile's warm-up, sessions' first allocations
    except OneByOneError:
        raise
    except Exception as e:
        raise OneByOneError(f"expected the model to run in {target}; it failed: {cause_line(e)}") from e
    engine.warmup_s = time.perf_counter() - start
    return verify(engine, model if reference is None else reference, example, n_random, seed)


def verify(engine, reference, example, n_random=2, seed=0):
    """The engine, its outputs checked against a deep copy of ``reference`` on the example and
    n_random seeded random inputs; ``engine.verified`` holds inputs, outputs, error, tolerance.
    Beyond tolerance: one OneByOneError saying by how much."""
    checks = _verify.check_inputs(tuple(example), n_random, seed)
    with denormals_flushed():
        expected = _verify.outputs(copy.deepcopy(reference).eval(), checks)
        got = [engine(*inputs) for inputs in checks]
    found, tolerance = _verify.compare(expected, got), _verify.tolerance(expected)
    error = found["error"]
    if not error <= tolerance:  # NaN compares false: a NaN error fails too
        raise OneByOneError(f"expected {engine.target} to reproduce the model within "
                            f"{tolerance:.0e}; its output error is {error:.2e} "
                            f"({found['why'] or 'worst output'} at output {found['worst']!r})")
    engine.verified = {"inputs": checks, "reference": expected, "error": error, "tolerance": tolerance}
    return engine


def from_onnx(target, data, signature):
    """An onnxruntime or OpenVINO engine over serialized ONNX (an export, or its int8 QDQ form)
    with the given signature; not yet verified (see verify, and graph.int8 for int8)."""
    if target not in ("onnxruntime", "openvino"):
        raise OneByOneError(f"expected onnxruntime or openvino to run an ONNX model; got {target!r}")
    with denormals_flushed():  # sessions set the flags while loading: ours restores them
        return _module(target).from_onnx(data, signature)


def load(path):
    """The engine artifact at path (target from the suffix), ready to call; not yet verified."""
    path = os.fspath(path)
    target = target_of(path)
    if not os.path.exists(path):
        raise OneByOneError(f"expected an existing {target} artifact; no file at {path!r}")
    try:
        with denormals_flushed():  # sessions set the flags while loading: ours restores them
            return _module(target).load(path)
    except OneByOneError:
        raise
    except Exception as e:
        raise OneByOneError(f"expected a readable {target} artifact at {path!r}; {cause_line(e)}") from e
