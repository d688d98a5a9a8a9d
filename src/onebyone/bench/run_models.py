"""Running the models benchmark end to end (`onebyone bench models`): progress, table, files."""
from rich.console import Console

from .._files import write_atomic
from .._table import print_table
from . import models, report


def main(command, out_dir="bench-out", names=models.MODELS, compile=True, budget_s=3.0, console=None):
    """Benchmark each model; write models.csv, models.png and models.md into out_dir.

    ``command`` (the command line that reproduces the run) heads models.md."""
    console = console or Console()
    out = report.output_dir(out_dir, names, models.MODELS + models.EXTRA,
                            ("models.csv", "models.png", "models.md"))
    rows = []
    for i, name in enumerate(names, 1):
        with console.status(f"[{i}/{len(names)}] {name}: optimize, each engine, then interleaved runs"):
            rows.append(models.measure(name, compile=compile, budget_s=budget_s))
        r = rows[-1]
        console.print(f"{name}: eager {r.eager_ms:.1f} ms, best engine {models.best_engine_ms(r):.1f} ms, "
                      f"onebyone auto {r.auto_ms:.1f} ms on {r.auto_target} (took {r.auto_s:.0f} s)")
    md = models.summary(rows, command)
    report.write_csv(rows, out / "models.csv")
    models.plot(rows, out / "models.png")
    write_atomic(out / "models.md", lambda f: f.write(md))
    print_table(console, "whole models: median ms per call (one-off seconds)", models.HEADERS,
                [models.cells(r) for r in rows], numbers=models.HEADERS[1:])
    for line in models.targets(rows):
        console.print(line, markup=False, highlight=False)
    console.print(f"Reproduce with: {command}", markup=False, highlight=False)
    console.print(f"Wrote {out / 'models.csv'}, {out / 'models.png'}, {out / 'models.md'}")
    return rows
