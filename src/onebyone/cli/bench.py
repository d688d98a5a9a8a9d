"""`onebyone bench ops|models`: the benchmarks, runnable from an installed package."""
import typer

from . import app

bench_app = typer.Typer(help="Benchmarks: interleaved runs, medians, ratios; CSV, PNG and markdown.",
                        no_args_is_help=True)
app.add_typer(bench_app, name="bench")
