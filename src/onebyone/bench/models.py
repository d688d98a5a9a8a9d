"""`onebyone bench models`: whole networks, eager vs the usual speed-ups vs onebyone.optimize.

Per model, every variant is prepared first (one-off costs timed: torch.compile's first call,
optimize's rewrite), then all variants run interleaved round-robin on one input, medians kept.
"""
import copy
import math
import time
from dataclasses import dataclass

import torch

MODELS = ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "googlenet",
          "squeezenet1_1", "shufflenet_v2_x0_5", "efficientnet_b0")
NAN = float("nan")


@dataclass
class ModelRow:
    model: str
    eager_ms: float
    channels_last_ms: float
    fx_fuse_cl_ms: float  # torch.fx.experimental.optimization.fuse, then channels_last
    compile_ms: float  # steady state; nan when compile is skipped
    compile_first_s: float  # time to the first output, compilation included
    optimize_ms: float
    optimize_s: float  # time onebyone.optimize took (tracing, passes, verification)
    optimize_compile_ms: float
    optimize_compile_first_s: float
    max_abs_error: float  # optimize's output against eager on the benchmark input


def _channels_last(model):
    return copy.deepcopy(model).to(memory_format=torch.channels_last)


def _first_call(model, x):
    """Seconds to the first output (for torch.compile: compilation included)."""
    start = time.perf_counter()
    with torch.inference_mode():
        model(x)
    return time.perf_counter() - start


def measure(name, input_size=(1, 3, 224, 224), compile=True, budget_s=3.0):
    """One ModelRow for a torchvision model built with random weights, in eval mode."""
    from torch.fx.experimental.optimization import fuse

    from ..graph import optimize
    from ..graph.speed import denormals_flushed
    from ..timing import interleaved
    from .shapes import build

    model = build(name)
    torch.manual_seed(0)
    x = torch.randn(input_size)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    start = time.perf_counter()
    optimized, _ = optimize(model, x, speed=False)
    optimize_s = time.perf_counter() - start
    variants = {"eager": (model, x), "channels_last": (_channels_last(model), x_cl),
                "fx_fuse_cl": (_channels_last(fuse(copy.deepcopy(model))), x_cl),
                "optimize": (optimized, x)}
    first = {}
    # Random weights make subnormal floats (50x slower arithmetic); trained models rarely do.
    with denormals_flushed():
        if compile:
            _add_compiled(variants, first, x)
        with torch.inference_mode():
            error = (optimized(x) - model(x)).abs().max().item()
            calls = {k: (lambda m=m, inp=inp: m(inp)) for k, (m, inp) in variants.items()}
            t = interleaved(calls, warmup=2, min_rounds=5, budget_s=budget_s)
    ms = {k: v * 1e3 for k, v in t.items()}
    return ModelRow(name, ms["eager"], ms["channels_last"], ms["fx_fuse_cl"], ms.get("compile", NAN),
                    first.get("compile", NAN), ms["optimize"], optimize_s,
                    ms.get("optimize_compile", NAN), first.get("optimize_compile", NAN), error)


def _add_compiled(variants, first, x):
    """torch.compile of eager and of optimize's result, timing each first call (compilation)."""
    for label, base in (("compile", "eager"), ("optimize_compile", "optimize")):
        torch._dynamo.reset()
        compiled = torch.compile(copy.deepcopy(variants[base][0]))
        first[label] = _first_call(compiled, x)
        variants[label] = (compiled, x)


def cell(value, spec):
    """One number for a table; a variant that did not run (NaN) reads "skipped", never "nan".

    >>> cell(12.345, ".1f"), cell(float("nan"), ".1f")
    ('12.3', 'skipped')
    """
    return "skipped" if math.isnan(value) else f"{value:{spec}}"


HEADERS = ("model", "eager ms", "channels_last", "fx fuse + CL", "compile (first s)",
           "optimize (took s)", "optimize + compile (first s)", "optimize vs eager", "max abs error")


def cells(r):
    """A row's table cells, in HEADERS' order (times in ms, one-off costs in s)."""
    def timed(ms, first_s, first_spec):
        return "skipped" if math.isnan(ms) else f"{ms:.1f} ({first_s:{first_spec}})"
    return [r.model, cell(r.eager_ms, ".1f"), cell(r.channels_last_ms, ".1f"), cell(r.fx_fuse_cl_ms, ".1f"),
            timed(r.compile_ms, r.compile_first_s, ".0f"), timed(r.optimize_ms, r.optimize_s, ".1f"),
            timed(r.optimize_compile_ms, r.optimize_compile_first_s, ".0f"),
            f"{r.eager_ms / r.optimize_ms:.2f}x", f"{r.max_abs_error:.1e}"]


def summary(rows, command):
    """Markdown: the table and the targets of issue 5 checked."""
    lines = [f"Command: `{command}`", "", "| " + " | ".join(HEADERS) + " |", "|---" * len(HEADERS) + "|"]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    return "\n".join(lines + [""] + targets(rows)) + "\n"


def targets(rows):
    """The targets checked, one "- " line each; those that need torch.compile say when it was skipped."""
    from .report import geomean as g

    speedup = g(r.eager_ms / r.optimize_ms for r in rows)
    lines = [f"- optimize vs eager, geomean: {speedup:.2f}x (target >= 1.3x)"]
    slower = [r.model for r in rows if r.optimize_ms > r.fx_fuse_cl_ms]
    lines.append(f"- optimize slower than fx fuse + channels_last on: {', '.join(slower) or 'none'} (target: none)")
    if all(math.isnan(r.compile_ms) for r in rows):
        return lines + ["- torch.compile skipped (--no-compile): its comparisons were not made"]
    vs_compile = g(r.compile_ms / r.optimize_ms for r in rows)
    warm = g(r.optimize_s / r.compile_first_s for r in rows)
    lines.append(f"- optimize steady state vs compile's, geomean: {vs_compile:.2f}x; optimize's "
                 f"one-off time is {warm:.0%} of compile's warm-up (aim: ~1x with under 10%)")
    both = g(r.compile_ms / r.optimize_compile_ms for r in rows)
    lines.append(f"- optimize + compile vs compile alone, geomean: {both:.2f}x (target >= 1x)")
    return lines


VARIANTS = (("channels_last_ms", "channels_last"), ("fx_fuse_cl_ms", "fx fuse + CL"),
            ("compile_ms", "torch.compile"), ("optimize_ms", "onebyone.optimize"),
            ("optimize_compile_ms", "optimize + compile"))


def figure(rows):
    """Speed-up over eager per model (named on the x axis), one bar per variant that ran."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ran = [(f, label) for f, label in VARIANTS if not all(math.isnan(getattr(r, f)) for r in rows)]
    fig, ax = plt.subplots(figsize=(12, 4))
    width = 0.8 / len(ran)
    for i, (field, label) in enumerate(ran):
        ax.bar([j + i * width for j in range(len(rows))],
               [r.eager_ms / getattr(r, field) for r in rows], width, label=label)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(rows))], [r.model for r in rows], rotation=20)
    ax.set_xlabel("model (torchvision, random weights, batch 1)")
    ax.set_ylabel("speed-up over eager")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot(rows, path):
    """figure(rows) saved to path (PNG), whole or not at all."""
    import matplotlib.pyplot as plt

    from .._files import write_atomic

    fig = figure(rows)
    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=90), mode="wb")
    plt.close(fig)
