"""`onebyone bench ops`: conv1x1's auto dispatch against F.conv2d, its own candidates and SGEMM.

For every shape of the suite, at each batch size, memory format and pass (forward, or forward
and backward), every contender runs interleaved round-robin in one process and the medians are
compared: F.conv2d in the same memory format (the baseline), onebyone's auto (what users get),
each candidate the dispatcher can pick (their best is the oracle), and a plain torch.mm of the
same (M, N, K) as the GEMM limit.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import _methods, core, dispatch
from .._validate import validate
from ..timing import interleaved


@dataclass
class Row:
    shape: str
    batch: int
    memory_format: str  # "channels_first" | "channels_last"
    passes: str  # "fwd" | "fwd+bwd"
    auto_choice: str
    conv_ms: float
    auto_ms: float
    oracle_ms: float
    oracle: str
    sgemm_ms: float
    gflops: float  # of auto
    vs_conv: float  # conv_ms / auto_ms: > 1 means auto is faster
    vs_oracle: float  # oracle_ms / auto_ms: 1 means auto picked the best
    of_sgemm: float  # sgemm_ms / auto_ms: achieved / GEMM throughput


def _inputs(shape, batch, memory_format, grad):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, shape.cin, shape.height, shape.width, generator=g)
    if memory_format == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(shape.cout, shape.cin // shape.groups, 1, 1, generator=g) / math.sqrt(shape.cin)
    b = torch.randn(shape.cout, generator=g)
    return [t.requires_grad_(grad) for t in (x, w, b)]


def _pass(fn, grad):
    """A zero-argument callable running fn() forward, or forward and backward."""
    if not grad:
        def forward():
            with torch.no_grad():
                fn()
        return forward

    def forward_backward():
        y = fn()
        y.backward(torch.ones_like(y))  # a dense, contiguous-in-its-format gradient
    return forward_backward


def _sgemm(shape, batch, grad):
    """torch.mm on the same (M, N, K): the forward product, plus dX and dW for a backward."""
    m = batch * math.ceil(shape.height / shape.stride) * math.ceil(shape.width / shape.stride)
    a, b = torch.randn(m, shape.cin), torch.randn(shape.cin, shape.cout)
    gy = torch.randn(m, shape.cout)
    if not grad:
        return lambda: torch.mm(a, b)
    return lambda: (torch.mm(a, b), torch.mm(gy, b.t()), torch.mm(gy.t(), a))


def measure(shape, batch, memory_format, grad, budget_s=0.25):
    """One Row: every contender for one (shape, batch, memory format, pass), interleaved."""
    x, w, b = _inputs(shape, batch, memory_format, grad)
    stride, groups = shape.stride, shape.groups
    call = validate(x, w, b, stride, 0, groups)
    w2 = w.reshape(call.out_channels, -1)
    names = dispatch.eligible(call, x)
    contenders = {
        "F.conv2d": _pass(lambda: F.conv2d(x, w, b, stride, 0, 1, groups), grad),
        "auto": _pass(lambda: core.conv1x1(x, w, b, stride=stride, groups=groups), grad),
        "sgemm": _sgemm(shape, batch, grad),
    }
    for name in names:
        run = _methods.runner(name, call, x, grad)
        contenders[name] = _pass(lambda run=run: run(x, w2, b), grad)
    t = interleaved(contenders, budget_s=budget_s, min_rounds=7)
    oracle = min(names, key=t.get)
    flops = 2 * batch * shape.cin // groups * shape.cout * math.ceil(shape.height / stride) \
        * math.ceil(shape.width / stride) * (3 if grad else 1)
    return Row(shape.label(), batch, memory_format, "fwd+bwd" if grad else "fwd",
               dispatch.choose(call, x, grad), t["F.conv2d"] * 1e3, t["auto"] * 1e3,
               t[oracle] * 1e3, oracle, t["sgemm"] * 1e3, flops / t["auto"] / 1e9,
               t["F.conv2d"] / t["auto"], t[oracle] / t["auto"], t["sgemm"] / t["auto"])


def run(shapes, batches=(1, 8), memory_formats=("channels_first", "channels_last"),
        passes=("fwd", "fwd+bwd"), budget_s=0.25, progress=None):
    """Rows for every combination; `progress(i, total, label)` is called before each."""
    configs = [(s, n, f, p) for s in shapes for n in batches for f in memory_formats for p in passes]
    rows = []
    for i, (s, n, f, p) in enumerate(configs):
        if progress:
            progress(i, len(configs), f"{s.label()} N={n} {f} {p}")
        rows.append(measure(s, n, f, p == "fwd+bwd", budget_s))
    return rows
