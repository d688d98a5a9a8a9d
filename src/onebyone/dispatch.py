"""method="auto": which formulation runs for which call, by rule or by measurement.

The key is everything that changes which formulation is fastest: shapes, memory format, dtype,
device, groups, stride, padding and whether gradients will be needed. By default a cheap rule
decides (derived from `onebyone bench ops` runs, see docs/benchmarks.md). `tune()`, or the
environment variable ONEBYONE_TUNE=1, times the candidates once per key instead and keeps the
winner in a JSON file keyed by torch version and CPU model (ONEBYONE_CACHE, default
~/.cache/onebyone/tuning.json).
"""
import os

from . import _arrays, tuning_cache
from .formulations import FORMULATIONS


def runner(call, x, grad, w=None, bias=None):
    """The function f(x, weight, bias) that computes calls like this one with the chosen
    candidate; weight may be (Cout, Cin/groups) or the full (Cout, Cin/groups, 1, ...).

    With ONEBYONE_TUNE=1 and the call's w and bias given, an unseen key is timed first.
    """
    return CANDIDATES[choose(call, x, grad, w, bias)](call, x, grad)


def _conv(call, x, grad):
    import torch.nn.functional as F

    conv = (F.conv1d, F.conv2d, F.conv3d)[call.spatial - 1]
    kernel = (call.out_channels, call.in_channels // call.groups) + (1,) * call.spatial
    args = (call.stride, call.padding, 1, call.groups)

    def run(x, w, bias):
        return conv(x, w if w.ndim == len(kernel) else w.reshape(kernel), bias, *args)
    if _arrays.channels_last_in_memory(x) and call.spatial == 3:  # conv3d drops channels_last_3d
        return lambda x, w, bias: _arrays.keep_memory_format(x, run(x, w, bias))
    return run


def _matrix(call, f):
    """f(x, matrix, bias) made to take the weight in any accepted shape."""
    shape = (call.out_channels, call.in_channels // call.groups)
    return lambda x, w, bias: f(x, w if w.ndim == 2 else w.reshape(shape), bias)


def _gemm(call, x, grad):
    from .fast import runner as gemm_runner

    return _matrix(call, gemm_runner(x, call.stride, grad))


def _numpy_gemm(call, x, grad):
    gemm = FORMULATIONS["gemm"]
    return _matrix(call, lambda x, w, bias: gemm(x, w, bias, call.stride, call.padding, call.groups))


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

    layout = ("rows" if uses_rows(x) else "columns") if _dense(x) else "strided"
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
    if os.environ.get("ONEBYONE_TUNE") == "1" and w is not None:
        return measure(call, x, w, bias, grad)["winner"]
    return rule(call, x, grad)


def rule(call, x, grad):
    """The default choice, no measurement. Thresholds come from `onebyone bench ops` on the
    six-model shape suite (docs/benchmarks.md); where the data had no clear winner, torch's
    conv stays, since matching it is the floor.

    - one pixel per image: F.linear, except at batch 1 where conv's own path is quicker;
    - pixel rows (channels_last memory): F.linear up to 1024 rows; oneDNN's conv beyond;
    - channel columns (contiguous): the GEMM at batch 1 or with many pixels per image
      (NCHW conv is slowest there); conv for a batch of small images.
    """
    from .fast import uses_rows

    if "gemm" not in eligible(call, x) or not _dense(x):
        return "conv"  # a strided view (a channel split, say) would cost the GEMM path a copy
    n = x.shape[0]
    pixels = 1
    for size, s in zip(x.shape[2:], call.stride):  # plain integers: torch.compile traces this
        pixels *= (size + s - 1) // s
    if pixels == 1:
        return "conv" if n == 1 else "gemm"
    if uses_rows(x):
        return "gemm" if n * pixels <= 1024 else "conv"
    return "gemm" if n == 1 or pixels >= (4096 if grad else 256) else "conv"


def _dense(x):
    """Contiguous with channels first or channels last (any rank): the GEMM needs no copy."""
    return x.is_contiguous() or x.movedim(1, -1).is_contiguous()


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
    from . import core

    core._PLANS.clear()  # plans made before this choice must be made again
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
    from ._validate import validate
    from .errors import OneByOneError

    call = validate(x, weight, bias, stride, padding, groups)
    if not _arrays.is_tensor(x):
        raise OneByOneError("tune times torch formulations; expected a torch tensor, got a NumPy array")
    w = weight.reshape(call.out_channels, call.in_channels // call.groups)
    return measure(call, x, w, bias, backward, budget_s)


def _compiling():
    import torch

    return torch.compiler.is_compiling()
