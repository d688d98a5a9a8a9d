"""method="auto": which method runs for which call, by rule or by measurement. It only chooses.

The candidates are `method` names a user can pass ("torch", "gemm"), and each runs exactly what
that method runs (see _methods.py). The key is everything that changes which one is fastest:
shapes, memory format, dtype, device, groups, stride, padding and whether gradients will be
needed. By default a cheap rule decides (derived from `onebyone bench ops` runs, see
docs/benchmarks.md). `onebyone.tune()`, or the environment variable ONEBYONE_TUNE=1, times the
candidates once per key instead and keeps the winner in a JSON file keyed by torch version and
CPU model (ONEBYONE_CACHE, default ~/.cache/onebyone/tuning.json).
"""
import os

from . import _arrays, _methods, tuning_cache


def eligible(call, x):
    """The method names auto may pick for this call: each computes it exactly.

    >>> import numpy as np
    >>> from onebyone._validate import validate
    >>> x, w = np.ones((1, 2, 3, 3)), np.ones((4, 2))
    >>> eligible(validate(x, w, None, 1, 0, 1), x)
    ['gemm']
    """
    if not _arrays.is_tensor(x):
        return ["gemm"]  # NumPy: one matrix product is the fastest formulation there
    return ["torch", "gemm"] if _methods.fast_gemm_applies(call, x) else ["torch"]


def key(call, x, grad):
    """A string naming everything that decides the fastest method."""
    from .gemm_torch import uses_rows

    layout = ("rows" if uses_rows(x) else "columns") if _dense(x) else "strided"
    return (f"{tuple(x.shape)}->{call.out_channels}|{layout}|{str(x.dtype)}|{x.device.type}"
            f"|g{call.groups}|s{call.stride}|p{call.padding}|{'fwd+bwd' if grad else 'fwd'}")


def choose(call, x, grad, w=None, bias=None):
    """The method auto runs: the only eligible one, a tuned winner, or the rule.

    With ONEBYONE_TUNE=1 and the call's w and bias given, an unseen key is measured first.
    A cached winner that is not an eligible name (from an older version, say) is ignored.
    """
    names = eligible(call, x)
    if len(names) == 1:
        return names[0]
    if _compiling():  # torch.compile traces the rule; the cache file stays outside the graph
        return rule(call, x, grad)
    winner = tuning_cache.lookup(key(call, x, grad))
    if isinstance(winner, str) and winner in names:
        return winner
    if os.environ.get("ONEBYONE_TUNE") == "1" and w is not None:
        return measure(call, x, w, bias, grad)["winner"]
    return rule(call, x, grad)


def rule(call, x, grad):
    """The default choice, no measurement. Thresholds come from `onebyone bench ops` on the
    six-model shape suite (docs/benchmarks.md); where the data had no clear winner, torch's
    conv stays, since matching it is the floor.

    - one pixel per image: the GEMM (F.linear), except at batch 1 where conv's own path is quicker;
    - pixel rows (channels_last memory): the GEMM up to 1024 rows; oneDNN's conv beyond;
    - channel columns (contiguous): the GEMM at batch 1 or with many pixels per image
      (NCHW conv is slowest there); conv for a batch of small images.
    """
    from .gemm_torch import uses_rows

    if "gemm" not in eligible(call, x) or not _dense(x):
        return "torch"  # a strided view (a channel split, say) would cost the GEMM path a copy
    n = x.shape[0]
    pixels = 1
    for size, s in zip(x.shape[2:], call.stride):  # plain integers: torch.compile traces this
        pixels *= (size + s - 1) // s
    if pixels == 1:
        return "torch" if n == 1 else "gemm"
    if uses_rows(x):
        return "gemm" if n * pixels <= 1024 else "torch"
    return "gemm" if n == 1 or pixels >= (4096 if grad else 256) else "torch"


def _dense(x):
    """Contiguous with channels first or channels last (any rank): the GEMM needs no copy."""
    return x.is_contiguous() or x.movedim(1, -1).is_contiguous()


def measure(call, x, w, bias, grad, budget_s=0.3):
    """Time every eligible method on these tensors, remember the winner, return the times.

    Returns {"key": ..., "times": {name: median seconds}, "winner": name}. Plans already made
    are the caller's to forget (core.tune does).
    """
    import torch

    from .timing import interleaved

    def timed(name):
        compute = _methods.runner(name, call, x, grad)
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
    k = key(call, x, grad)
    tuning_cache.store(k, winner)
    return {"key": k, "times": times, "winner": winner}


def _compiling():
    import torch

    return torch.compiler.is_compiling()
