"""method="auto": which formulation runs for which call, by rule or by measurement.

The key is everything that changes which formulation is fastest: shapes, memory format, dtype,
device, groups, stride, padding and whether gradients will be needed. By default a cheap rule
decides (derived from `onebyone bench ops` runs, see docs/benchmarks.md). `tune()`, or the
environment variable ONEBYONE_TUNE=1, times the candidates once per key instead and keeps the
winner in a JSON file keyed by torch version and CPU model (ONEBYONE_CACHE, default
~/.cache/onebyone/tuning.json).
"""
import math
import os

from . import _arrays, tuning_cache
from .formulations import FORMULATIONS


def runner(call, x, grad, w=None, bias=None):
    """The function f(x, w, bias) that computes calls like this one with the chosen candidate.

    With ONEBYONE_TUNE=1 and the call's w and bias given, an unseen key is timed first.
    """
    return CANDIDATES[choose(call, x, grad, w, bias)](call, x, grad)


def _conv(call, x, grad):
    conv = FORMULATIONS["torch"]
    return lambda x, w, bias: _arrays.keep_memory_format(
        x, conv(x, w, bias, call.stride, call.padding, call.groups))


def _gemm(call, x, grad):
    from .fast import runner as gemm_runner

    return gemm_runner(x, call.stride, grad)


def _numpy_gemm(call, x, grad):
    gemm = FORMULATIONS["gemm"]
    return lambda x, w, bias: gemm(x, w, bias, call.stride, call.padding, call.groups)


CANDIDATES = {"conv": _conv, "gemm": _gemm, "numpy_gemm": _numpy_gemm}


def eligible(call, x):
    """The candidates that compute this call exactly."""
    if not _arrays.is_tensor(x):
        return ["numpy_gemm"]
    import torch

    names = ["conv"]
    if (call.groups == 1 and not any(call.padding) and x.device.type == "cpu"
            and x.dtype in (torch.float32, torch.float64)):
        names.append("gemm")
    return names


def key(call, x, grad):
    """A string naming everything that decides the fastest formulation."""
    from .fast import uses_rows

    layout = "rows" if uses_rows(x) else "columns"
    return (f"{tuple(x.shape)}->{call.out_channels}|{layout}|{str(x.dtype)}|{x.device.type}"
            f"|g{call.groups}|s{call.stride}|p{call.padding}|{'fwd+bwd' if grad else 'fwd'}")


def choose(call, x, grad, w=None, bias=None):
    names = eligible(call, x)
    if len(names) == 1:
        return names[0]
    if _compiling():  # torch.compile traces the rule; the cache file stays outside the graph
        return rule(call, x, grad)
    k = key(call, x, grad)
    winner = tuning_cache.lookup(k)
    if winner in names:
        return winner
    if os.environ.get("ONEBYONE_TUNE") == "1" and w is not None and not _compiling():
        return measure(call, x, w, bias, grad)["winner"]
    return rule(call, x, grad)


def rule(call, x, grad):
    """The default choice, no measurement: see docs/benchmarks.md for the data behind it."""
    from .fast import uses_rows

    if "gemm" not in eligible(call, x):
        return "conv"
    return "gemm"


def measure(call, x, w, bias, grad, budget_s=0.3):
    """Time every eligible candidate on these tensors, remember the winner, return the times."""
    import torch

    from .timing import interleaved

    def timed(name):
        compute = CANDIDATES[name](call, x, grad)
        if not grad:
            def forward():
                with torch.no_grad():
                    compute(x, w, bias)
            return forward
        leaves = [t.detach().requires_grad_(True) if t is not None else None for t in (x, w, bias)]

        def forward_backward():
            y = compute(*leaves)
            y.backward(torch.ones_like(y))
        return forward_backward

    times = interleaved({name: timed(name) for name in eligible(call, x)}, budget_s=budget_s)
    winner = min(times, key=times.get)
    tuning_cache.store(key(call, x, grad), winner)
    return {"key": key(call, x, grad), "times": times, "winner": winner}


def tune(x, weight, bias=None, *, stride=1, padding=0, groups=1, backward=False, budget_s=0.3):
    """Time the candidates for this call, cache the winner on disk, and return the timings.

    Later calls with the same key (shapes, memory format, dtype, device, groups, stride,
    padding, forward or forward+backward) run the winner under method="auto".

    >>> import torch, onebyone
    >>> result = onebyone.tune(torch.randn(1, 8, 4, 4), torch.randn(4, 8), budget_s=0.01)
    >>> result["winner"] in result["times"]
    True
    """
    from .core import validate
    from .errors import OneByOneError

    call = validate(x, weight, bias, stride, padding, groups)
    if not _arrays.is_tensor(x):
        raise OneByOneError("tune times torch formulations; expected a torch tensor, got a NumPy array")
    w = weight.reshape(call.out_channels, call.in_channels // call.groups)
    return measure(call, x, w, bias, backward, budget_s)


def _compiling():
    import torch

    return torch.compiler.is_compiling()
