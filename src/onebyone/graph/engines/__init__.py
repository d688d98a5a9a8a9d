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
import importlib.util
import os
import time

import torch

from ...errors import OneByOneError, cause_line, not_installed
from .. import verify as _verify
from ..settings import denormals_flushed
from . import eager, inductor, ort, ov
from .base import Engine, Signature

# The registry: each engine module's SPEC (target, package, extra, suffixes), in the order
# "auto" tries them; everything below reads it.
_MODULES = {m.SPEC.target: m for m in (eager, inductor, ort, ov)}
TARGETS = {target: m.SPEC for target, m in _MODULES.items()}
SUFFIXES = {spec.suffixes[0]: target for target, spec in TARGETS.items()}  # artifact -> target

__all__ = ["TARGETS", "SUFFIXES", "Engine", "available", "build", "from_onnx", "load", "verify",
           "target_of", "named", "missing"]


def named(target, what="a target", auto=True):
    """The list of targets that ``target`` names: a name, a list of names or (when ``auto``)
    "auto", every target; else one OneByOneError listing them. The one check of a target's name.

    >>> named("auto"), named(["onnxruntime"])
    (['torch', 'compile', 'onnxruntime', 'openvino'], ['onnxruntime'])
    >>> named("tensorrt", "--target")
    Traceback (most recent call last):
    onebyone.errors.OneByOneError: expected --target from torch, compile, onnxruntime, openvino or auto; got 'tensorrt'
    """
    if auto and target == "auto":
        return list(TARGETS)
    wanted = [target] if isinstance(target, str) else list(target)
    unknown = [t for t in wanted if t not in TARGETS]
    if unknown or not wanted:
        raise OneByOneError(f"expected {what} from {', '.join(TARGETS)}{' or auto' if auto else ''}; "
                            f"got {', '.join(map(repr, unknown)) or 'none'}")
    return wanted


def missing(target):
    """The OneByOneError naming the extra that installs target's engine package, or None when
    it is installed (or needs none).

    >>> missing("torch") is None
    True
    """
    spec = TARGETS[named(target, auto=False)[0]]
    if spec.package is None or importlib.util.find_spec(spec.package) is not None:
        return None
    return not_installed(spec.package, f"for the {target} target", spec.extra)


def available():
    """The targets whose engine package is installed, in TARGETS order.

    >>> targets = available()
    >>> targets[:2], ("onnxruntime" in targets) == (importlib.util.find_spec("onnxruntime") is not None)
    (['torch', 'compile'], True)
    """
    return [t for t in TARGETS if missing(t) is None]


def _module(target):
    return _MODULES[named(target, auto=False)[0]]


def target_of(path):
    """The target whose artifact a path names, from its suffix; one OneByOneError otherwise.

    >>> target_of("model.xml")
    'openvino'
    """
    suffix = os.path.splitext(os.fspath(path))[1]
    if suffix not in SUFFIXES:
        raise OneByOneError(f"expected an engine artifact ({', '.join(SUFFIXES)}); got {os.fspath(path)!r}")
    return SUFFIXES[suffix]


def build(target, model, example, *, reference=None, expected=None, n_random=2, seed=0):
    """``model`` running in ``target``, verified against ``reference`` (default: model itself).

    example: a tuple of tensors (the shapes and dtypes the engine is built for). expected: the
    reference's outputs on verify.check_inputs(example, n_random, seed), when the caller has
    them (optimize computes them once for all its builds): the reference then is not run. Raises one
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
    return verify(engine, model if reference is None else reference, example, n_random, seed,
                  expected)


def verify(engine, reference, example, n_random=2, seed=0, expected=None):
    """The engine, its outputs checked against a deep copy of ``reference`` (or ``expected``,
    its outputs already computed) on the example and n_random seeded random inputs;
    ``engine.verified`` holds inputs, outputs, error, tolerance. Beyond tolerance: one
    OneByOneError saying by how much."""
    checks = _verify.check_inputs(tuple(example), n_random, seed)
    with denormals_flushed():
        if expected is None:
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
