"""`onebyone bench ops|models`: the benchmarks (benchmarks/*.py are shims over these commands)."""
import shlex
from typing import List, Optional

import typer

from . import app

bench_app = typer.Typer(help="Benchmarks: interleaved runs, medians, ratios; CSV, PNG and markdown.",
                        no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("ops")
def bench_ops(
    out: str = typer.Option("bench-out", "--out", "-o", help="Directory for ops.csv, ops.png, ops.md."),
    model: Optional[List[str]] = typer.Option(None, "--model", help="Limit the suite to these models (repeatable)."),
    batch: Optional[List[int]] = typer.Option(None, "--batch", min=1, help="Batch sizes (repeatable); default 1 and 8."),
    budget: float = typer.Option(0.25, min=0.0, help="Seconds of interleaved rounds per configuration."),
    limit: Optional[int] = typer.Option(None, min=1, help="Only the first N shapes (a quick look)."),
):
    """conv1x1 auto vs F.conv2d, its candidates and SGEMM, on every 1x1 conv shape of six models."""
    from ..bench import run_ops, shapes

    models, batches = tuple(model or shapes.SUITE_MODELS), tuple(batch or (1, 8))
    command = _command("ops", out=out, model=models, batch=batches, budget=budget, limit=limit)
    run_ops.main(command, out, models, batches, budget, limit)


@bench_app.command("models")
def bench_models(
    out: str = typer.Option("bench-out", "--out", "-o", help="Directory for models.csv, models.png, models.md."),
    model: Optional[List[str]] = typer.Option(None, "--model", help="Models to run (repeatable); default all eight."),
    compile: bool = typer.Option(True, "--compile/--no-compile", help="Include torch.compile (slow to warm up)."),
    budget: float = typer.Option(3.0, min=0.0, help="Seconds of interleaved rounds per model."),
    int8: bool = typer.Option(False, "--int8", help="Instead: optimize --int8 against the best fp32 "
                              "engine on the original model (default models: bench.int8.MODELS)."),
):
    """Whole torchvision models: eager, channels_last, fx fuse, torch.compile, onebyone.optimize."""
    from ..bench import models, run_models

    if int8:
        from ..bench import int8 as int8_bench

        names = tuple(model or int8_bench.MODELS)
        command = _command("models", out=out, model=names, compile=compile, budget=budget, int8=True)
        int8_bench.main(command, out, names, compile, budget)
        return
    names = tuple(model or models.MODELS)
    command = _command("models", out=out, model=names, compile=compile, budget=budget)
    run_models.main(command, out, names, compile, budget)


def _command(verb, **options):
    """The command line that reproduces this run, every option spelled out, whichever entry
    point (the CLI, benchmarks/*.py, `make bench`) started it.

    >>> _command("ops", out="o", model=("a", "b"), limit=None, compile=False)
    'onebyone bench ops --out o --model a --model b --no-compile'
    """
    words = ["onebyone", "bench", verb]
    for name, value in options.items():
        for v in value if isinstance(value, tuple) else (value,):
            if isinstance(v, bool):
                words.append(f"--{name}" if v else f"--no-{name}")
            elif v is not None:
                words += [f"--{name}", str(v)]
    return shlex.join(words)
