"""Running the models benchmark end to end (`onebyone bench models`): progress, table, files."""
from rich.console import Console

from .._files import write_atomic
from . import models, report


def main(command, out_dir="bench-out", names=models.MODELS, compile=True, budget_s=3.0, console=None):
    """Benchmark each model; write models.csv, models.png and models.md into out_dir.

    ``command`` (the command line that reproduces the run) heads models.md."""
    console = console or Console()
    out = report.output_dir(out_dir, names, models.MODELS)
    rows = []
    for i, name in enumerate(names, 1):
        with console.status(f"[{i}/{len(names)}] {name}: optimize, compile, then interleaved runs"):
            rows.append(models.measure(name, compile=compile, budget_s=budget_s))
        r = rows[-1]
        console.print(f"{name}: eager {r.eager_ms:.1f} ms, optimize {r.optimize_ms:.1f} ms "
                      f"({r.eager_ms / r.optimize_ms:.2f}x), compile {r.compile_ms:.1f} ms")
    md = models.summary(rows, command)
    report.write_csv(rows, out / "models.csv")
    models.plot(rows, out / "models.png")
    write_atomic(out / "models.md", lambda f: f.write(md))
    console.print(md, markup=False, highlight=False)
    console.print(f"Wrote {out / 'models.csv'}, {out / 'models.png'}, {out / 'models.md'}")
    return rows
