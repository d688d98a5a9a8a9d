"""`onebyone bench models --int8`: optimize(precision="int8") against the best fp32 engine run
on the original model, interleaved in one run.

Per model (random weights, BatchNorm statistics randomised so folding and int8 ranges are not
trivial, batch 1, denormals flushed): eager torch and every fp32 engine on the original model
(onnxruntime, OpenVINO, torch.compile when asked), then optimize(target=those engines,
precision="int8") with its default budget and random calibration; all of them timed
round-robin, each settled by an untimed call, medians kept. The row says what optimize returned
(int8 or fp32, on which engine), its error against the float model, the share of MACs in int8,
and how many layers stayed float.
"""
import math
import os
import time
from dataclasses import dataclass

import torch

from .random_bn import randomized_bn

# torchvision models the issue did not measure (it named mobilenet_v2 and resnet50)
MODELS = ("mobilenet_v3_large", "efficientnet_b0", "regnet_y_400mf", "shufflenet_v2_x1_0",
          "resnet18", "squeezenet1_1")
NAN = float("nan")


@dataclass
class Int8Row:
    model: str
    eager_ms: float
    onnxruntime_ms: float
    openvino_ms: float
    compile_ms: float  # NaN unless asked for
    best_fp32: str  # the fastest of eager and the fp32 engines on the original model
    best_fp32_ms: float
    result_ms: float  # what optimize(precision="int8") returned, timed in the same rounds
    returned: str  # "int8 on openvino", "fp32 on onnxruntime" ...
    speedup: float  # best_fp32_ms / result_ms
    int8_ms: float  # optimize's own interleaved figures for int8 and float on int8's engine
    float_ms: float
    error: float  # the result's relative error against the float model (held-out inputs)
    agreement: float  # top-1 agreement with the float model on held-out inputs (NaN: none)
    int8_macs_share: float  # of what optimize returned: 0 when it returned fp32
    kept_float: int  # layers kept float by the search
    optimize_s: float
    load: str


def measure(name, input_size=(1, 3, 224, 224), compile=False, budget_s=3.0):
    """One Int8Row for a model built by name (torchvision or ZOO:NAME)."""
    from ..graph import engines, optimize
    from ..graph.targets import time_models
    from ..graph.zoo import build

    load_before = os.getloadavg()[0]
    model = randomized_bn(build(name))
    torch.manual_seed(0)
    x = torch.randn(input_size)
    wanted = [t for t in ("onnxruntime", "openvino") + (("compile",) if compile else ())
              if t in engines.available()]
    variants = {"eager": model}
    for target in wanted:  # each engine on the original model, verified there
        variants[target] = engines.build(target, model, (x,))
    start = time.perf_counter()
    result, report = optimize(model, x, target=[t for t in wanted if t != "compile"],
                              precision="int8", runs=7)
    optimize_s = time.perf_counter() - start
    variants["result"] = result
    ms = {k: v * 1e3 for k, v in time_models(variants, (x,), runs=5, budget_s=budget_s).items()}
    return row(name, ms, report, optimize_s, f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}")


def row(name, ms, report, optimize_s, load):
    """The Int8Row of one model from its timings (ms: "eager", each fp32 engine, "result") and
    optimize's report."""
    fp32 = {k: v for k, v in ms.items() if k != "result"}
    best = min(fp32, key=fp32.get)
    r8 = report["int8"]
    on = r8["targets"].get(report["target"]) or next(iter(r8["targets"].values()))
    agreement = on["agreement"]
    # the share of the model returned: a float result runs none of its MACs in int8, whatever
    # the int8 candidate it beat would have
    share = r8["int8_macs_share"] if report["precision"] == "int8" else 0.0
    return Int8Row(name, ms["eager"], ms.get("onnxruntime", NAN), ms.get("openvino", NAN),
                   ms.get("compile", NAN), best, fp32[best], ms["result"],
                   f"{report['precision']} on {report['target']}", fp32[best] / ms["result"],
                   on["int8_ms"] if on["int8_ms"] is not None else NAN, on["float_ms"],
                   report["error"], NAN if agreement is None else agreement, share,
                   sum(1 for layer in r8["layers"] if layer["why"].startswith("kept float")),
                   optimize_s, load)


HEADERS = ("model", "eager ms", "onnxruntime ms", "OpenVINO ms", "compile ms", "best fp32",
           "optimize --int8 ms", "returned", "vs best fp32", "int8 / float ms on its engine",
           "error", "top-1 agreement", "MACs in int8", "kept float", "optimize s", "load")


def cells(r):
    def ms(v):
        return "skipped" if math.isnan(v) else f"{v:.1f}"
    return [r.model, ms(r.eager_ms), ms(r.onnxruntime_ms), ms(r.openvino_ms), ms(r.compile_ms),
            f"{r.best_fp32} {r.best_fp32_ms:.1f}", ms(r.result_ms), r.returned, f"{r.speedup:.2f}x",
            f"{ms(r.int8_ms)} / {ms(r.float_ms)}", f"{r.error:.1e}",
            "n/a" if math.isnan(r.agreement) else f"{r.agreement:.0%}",
            f"{100 * r.int8_macs_share:.0f}%", str(r.kept_float), f"{r.optimize_s:.0f}", r.load]


def summary(rows, command):
    """Markdown: the command, the table, and the target checked per model."""
    lines = [f"Command: `{command}`", "", "| " + " | ".join(HEADERS) + " |", "|---" * len(HEADERS) + "|"]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    lines += ["", "Target: int8 through optimize >= 1.3x the best fp32 engine on the original model, "
                  "within the default budget:"]
    for r in rows:
        met = r.returned.startswith("int8") and r.speedup >= 1.3
        lines.append(f"- {r.model}: {'met' if met else 'missed'} ({r.speedup:.2f}x, {r.returned})")
    return "\n".join(lines) + "\n"


def main(command, out_dir="bench-out", names=MODELS, compile=False, budget_s=3.0, console=None):
    """Benchmark each model; write int8.csv and int8.md into out_dir; print the table."""
    from rich.console import Console

    from .._files import write_atomic
    from .._table import print_table
    from . import models, report

    console = console or Console()
    out = report.output_dir(out_dir, names, MODELS + models.MODELS + models.EXTRA,
                            ("int8.csv", "int8.md"))
    rows = []
    for i, name in enumerate(names, 1):
        with console.status(f"[{i}/{len(names)}] {name}: fp32 engines, optimize --int8, interleaved runs"):
            rows.append(measure(name, compile=compile, budget_s=budget_s))
        r = rows[-1]
        console.print(f"{name}: best fp32 {r.best_fp32} {r.best_fp32_ms:.1f} ms, optimize --int8 "
                      f"{r.result_ms:.1f} ms ({r.returned}, {r.speedup:.2f}x)", markup=False, highlight=False)
    report.write_csv(rows, out / "int8.csv")
    write_atomic(out / "int8.md", lambda f: f.write(summary(rows, command)))
    print_table(console, "int8 vs the best fp32 engine: median ms per call", HEADERS,
                [cells(r) for r in rows], numbers=HEADERS[1:5] + HEADERS[6:7])
    console.print(f"Reproduce with: {command}", markup=False, highlight=False)
    console.print(f"Wrote {out / 'int8.csv'}, {out / 'int8.md'}")
    return rows
