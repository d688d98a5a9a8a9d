"""Running the ops benchmark end to end (`onebyone bench ops`): shapes, progress, table, files."""
import time

from rich.console import Console
from rich.progress import Progress
from .._files import write_atomic
from .._table import print_table
from . import ops, report, shapes


def main(command, out_dir="bench-out", models=shapes.SUITE_MODELS, batches=(1, 8), budget_s=0.25,
         limit=None, console=None):
    """Run the benchmark and write ops.csv, ops.png and ops.md into out_dir; return the rows.

    ``command`` (the command line that reproduces the run) heads ops.md."""
    console = console or Console()
    out = report.output_dir(out_dir, models, shapes.SUITE_MODELS, ("ops.csv", "ops.png", "ops.md"))
    start = time.time()
    with console.status("tracing models for their 1x1 conv shapes"):
        suite = shapes.suite(models)[:limit]
    console.print(f"{len(suite)} distinct 1x1 conv shapes from {', '.join(models)}")
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("benchmarking", total=None)

        def progress(i, total, label):
            bar.update(task, total=total, completed=i, description=label)
        rows = ops.run(suite, batches=batches, budget_s=budget_s, progress=progress)
    md = report.summary(rows, command) + f"\nWall time: {time.time() - start:.0f} s.\n"
    report.write_csv(rows, out / "ops.csv")
    report.plot(rows, out / "ops.png")
    write_atomic(out / "ops.md", lambda f: f.write(md))
    _table(rows, console)
    console.print(md, markup=False, highlight=False)
    console.print(f"Wrote {out / 'ops.csv'}, {out / 'ops.png'}, {out / 'ops.md'}")
    return rows


def _table(rows, console):
    headers = ("pass", "memory format", "shapes", "geomean vs F.conv2d", "min", "vs oracle", "of SGEMM")
    cells = [[passes, fmt, str(len(rs)), f"{report.geomean(r.vs_conv for r in rs):.2f}x",
              f"{min(r.vs_conv for r in rs):.2f}x", f"{report.geomean(r.vs_oracle for r in rs):.2f}x",
              f"{report.geomean(r.of_sgemm for r in rs):.2f}"] for (passes, fmt), rs in report.groups(rows).items()]
    print_table(console, "per (pass, memory format)", headers, cells, numbers=headers[2:])
