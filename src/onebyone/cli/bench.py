"""`onebyone bench ops|models`: the benchmarks, runnable from an installed package."""
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
    from ..bench import cli_ops, shapes

    cli_ops.main(out, tuple(model or shapes.SUITE_MODELS), tuple(batch or (1, 8)), budget, limit)


@bench_app.command("models")
def bench_models(
    out: str = typer.Option("bench-out", "--out", "-o", help="Directory for models.csv, models.png, models.md."),
    model: Optional[List[str]] = typer.Option(None, "--model", help="Models to run (repeatable); default all eight."),
    compile: bool = typer.Option(True, "--compile/--no-compile", help="Include torch.compile (slow to warm up)."),
    budget: float = typer.Option(3.0, help="Seconds of interleaved rounds per model."),
):
    """Whole torchvision models: eager, channels_last, fx fuse, torch.compile, onebyone.optimize."""
    from ..bench import cli_models, models

    cli_models.main(out, tuple(model or models.MODELS), compile, budget)
