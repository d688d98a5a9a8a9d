"""`onebyone bench models`: whole networks, eager vs torch's speed-ups vs the engines vs
onebyone.optimize, which ends on the fastest engine it verified (target="auto").

Per model, every variant is prepared first (one-off costs timed: seconds to each engine's first
output, optimize's whole run), then all variants run interleaved round-robin on one input, each
settled by an untimed call before its timed one, medians kept. The engines (torch.compile with inductor's freezing, onnxruntime, OpenVINO) run the
original model, as one export gives them to anyone; "auto" is what optimize(target="auto")
returns: its rewrites, chosen per engine, on the engine it found fastest.
"""
import copy
import math
import os
import time
from dataclasses import dataclass

import torch

MODELS = ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "googlenet",
          "squeezenet1_1", "shufflenet_v2_x0_5", "efficientnet_b0")
# Run when named, not in the default set: timm's efficientnet_b0 and mixnet_s (the timm extra),
# and the held-out models where auto once lost to a plain engine (issue 16).
EXTRA = ("timm:efficientnet_b0", "timm:mixnet_s", "regnet_y_400mf", "mnasnet1_0", "densenet121")
ENGINES = ("compile", "onnxruntime", "openvino")
NAN = float("nan")


@dataclass
class ModelRow:
    model: str
    eager_ms: float
    channels_last_ms: float
    fx_fuse_cl_ms: float  # torch.fx.experimental.optimization.fuse, then channels_last
    optimize_ms: float  # optimize(speed=False): the rewritten GraphModule, every pass kept
    optimize_s: float  # time that optimize took (tracing, passes, verification)
    compile_ms: float  # torch.compile, inductor with freezing, on the original; NaN if skipped
    compile_first_s: float  # seconds to its first output, compilation included
    onnxruntime_ms: float  # NaN when the package is not installed
    onnxruntime_first_s: float
    openvino_ms: float
    openvino_first_s: float
    auto_ms: float  # optimize(target="auto")'s result, on the engine it chose
    auto_target: str  # "openvino", or "openvino (original model)" when no rewrite was faster there
    auto_s: float  # seconds optimize(target="auto") took, every engine's warm-up included
    auto_error: float  # the chosen engine's verified error against the original model
    load: str  # the 1-minute load average before and after the model: the machine is shared


def _channels_last(model):
    return copy.deepcopy(model).to(memory_format=torch.channels_last)


def measure(name, input_size=(1, 3, 224, 224), compile=True, budget_s=3.0):
    """One ModelRow for a model built by name (torchvision or ZOO:NAME), random weights, eval."""
    from torch.fx.experimental.optimization import fuse

    from ..graph import engines, optimize
    from ..graph.targets import time_models
    from .shapes import build

    load_before = os.getloadavg()[0]
    model = build(name)
    torch.manual_seed(0)
    x = torch.randn(input_size)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    start = time.perf_counter()
    optimized, _ = optimize(model, x, speed=False)
    optimize_s = time.perf_counter() - start
    wanted = [t for t in engines.available() if t in ENGINES and (compile or t != "compile")]
    start = time.perf_counter()
    chosen, report = optimize(model, x, target=["torch", *wanted])
    auto_s = time.perf_counter() - start
    variants = {"eager": (model, x), "channels_last": (_channels_last(model), x_cl),
                "fx_fuse_cl": (_channels_last(fuse(copy.deepcopy(model))), x_cl),
                "optimize": (optimized, x), "auto": (chosen, x)}
    first = {}
    for target in wanted:  # each engine on the original model, verified there as optimize's are
        engine = engines.build(target, model, (x,))
        variants[target], first[target] = (engine, x), engine.warmup_s
    # Denormals flushed (random weights make subnormals, 50x slower; trained models rarely do),
    # and one untimed call per variant per round: see onebyone.graph.targets.time_models.
    calls = {k: (lambda m=m, inp=inp: m(inp)) for k, (m, inp) in variants.items()}
    t = time_models(calls, (), runs=5, budget_s=budget_s)
    ms = {k: v * 1e3 for k, v in t.items()}
    return ModelRow(name, ms["eager"], ms["channels_last"], ms["fx_fuse_cl"], ms["optimize"], optimize_s,
                    ms.get("compile", NAN), first.get("compile", NAN),
                    ms.get("onnxruntime", NAN), first.get("onnxruntime", NAN),
                    ms.get("openvino", NAN), first.get("openvino", NAN),
                    ms["auto"], report["target"] + (" (original model)" if report.get("plain_chosen") else ""),
                    auto_s, report["error"],
                    f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}")


def cell(value, spec):
    """One number for a table; a variant that did not run (NaN) reads "skipped", never "nan".

    >>> cell(12.345, ".1f"), cell(float("nan"), ".1f")
    ('12.3', 'skipped')
    """
    return "skipped" if math.isnan(value) else f"{value:{spec}}"


HEADERS = ("model", "eager ms", "fx fuse + CL", "optimize, torch (took s)",
           "compile + freezing (first s)", "onnxruntime (first s)", "OpenVINO (first s)",
           "auto (took s)", "auto's target", "auto vs best engine", "auto vs eager", "auto error", "load")


def best_engine_ms(r):
    """The fastest of eager and the engines on the original model (those that ran)."""
    return min(v for v in (r.eager_ms, r.compile_ms, r.onnxruntime_ms, r.openvino_ms) if not math.isnan(v))


def cells(r):
    """A row's table cells, in HEADERS' order (times in ms, one-off costs in s)."""
    def timed(ms, first_s, first_spec):
        return "skipped" if math.isnan(ms) else f"{ms:.1f} ({first_s:{first_spec}})"
    return [r.model, cell(r.eager_ms, ".1f"), cell(r.fx_fuse_cl_ms, ".1f"),
            timed(r.optimize_ms, r.optimize_s, ".1f"), timed(r.compile_ms, r.compile_first_s, ".0f"),
            timed(r.onnxruntime_ms, r.onnxruntime_first_s, ".1f"),
            timed(r.openvino_ms, r.openvino_first_s, ".1f"), timed(r.auto_ms, r.auto_s, ".0f"),
            r.auto_target, f"{best_engine_ms(r) / r.auto_ms:.2f}x", f"{r.eager_ms / r.auto_ms:.2f}x",
            f"{r.auto_error:.1e}", r.load]


def summary(rows, command):
    """Markdown: the table and the targets checked."""
    lines = [f"Command: `{command}`", "", "| " + " | ".join(HEADERS) + " |", "|---" * len(HEADERS) + "|"]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    return "\n".join(lines + [""] + targets(rows)) + "\n"


def targets(rows):
    """The targets checked, one "- " line each; those that need torch.compile say when it was skipped."""
    from .report import geomean as g

    worst = min(rows, key=lambda r: best_engine_ms(r) / r.auto_ms)
    lines = [f"- auto vs the best engine on the original model, worst: "
             f"{best_engine_ms(worst) / worst.auto_ms:.2f}x on {worst.model} (target >= 0.95x on every model)",
             f"- auto vs eager, geomean: {g(r.eager_ms / r.auto_ms for r in rows):.2f}x (target >= 2.5x)",
             f"- optimize(target=\"auto\") took at most {max(r.auto_s for r in rows):.0f} s per model "
             "(target: under 60 s with compile, under 10 s without)",
             f"- optimize (torch) vs eager, geomean: {g(r.eager_ms / r.optimize_ms for r in rows):.2f}x "
             "(target >= 1.3x)"]
    if all(math.isnan(r.compile_ms) for r in rows):
        lines.append("- torch.compile skipped (--no-compile): auto chose among the other engines")
    return lines


VARIANTS = (("fx_fuse_cl_ms", "fx fuse + CL"), ("optimize_ms", "onebyone.optimize"),
            ("compile_ms", "torch.compile"), ("onnxruntime_ms", "onnxruntime"),
            ("openvino_ms", "OpenVINO"), ("auto_ms", "onebyone auto"))


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
    ax.set_xlabel("model (random weights, batch 1)")
    ax.set_ylabel("speed-up over eager")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot(rows, path):
    """figure(rows) saved to path (PNG), whole or not at all."""
    from .report import save_figure

    save_figure(figure(rows), path)
