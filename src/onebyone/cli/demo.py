"""`onebyone demo` (what `make demo` runs): the op exact, explained, and at work on a real model."""
import typer

from . import app


@app.command()
def demo(
    seed: int = typer.Option(0, help="Seed for the random layer and input."),
    model: str = typer.Option("mobilenet_v2", help="torchvision model to inspect and optimize."),
):
    """Explain a layer, show its formulations agree, then inspect and optimize a real model."""
    main_job(model, seed)


def main_job(model="mobilenet_v2", seed=0, console=None):
    """A layer explained, its formulations agreeing, then ``model`` inspected and optimized with
    every rewrite verified and its speed against the model measured. Returns optimize's report."""
    from rich.console import Console

    from ..explanation import explain
    from ..explanation.text import render
    from ..graph import inspect, optimize
    from ..graph.render import print_inspection, print_optimization

    console = console or Console()
    console.rule("1. A 1x1 conv explained: 28x28x192 -> 32 filters")
    render(explain("28x28x192", filters=32, example=False))
    console.rule("2. Every formulation of it agrees")
    formulations_agree(seed, console)
    console.rule(f"3. The 1x1 convs of torchvision's {model} (random weights)")
    print_inspection(inspect(model, "1,3,224,224"), console)
    console.rule(f"4. {model} optimized: each pass verified, speed measured")
    _, report = optimize(model, "1,3,224,224")
    print_optimization(report, console)
    return report


def formulations_agree(seed=0, console=None):
    """A default layer, (1, 16, 7, 9) -> 8 channels, through every formulation, compared.

    Prints a table and returns the largest difference from the per-pixel loop (the spec).

    >>> import io
    >>> from rich.console import Console
    >>> formulations_agree(console=Console(file=io.StringIO())) < 1e-12
    True
    """
    import numpy as np
    from rich.console import Console

    from .._table import print_table
    from ..core import conv1x1
    from ..formulations import FORMULATIONS

    console = console or Console()
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, 16, 7, 9))
    w = rng.standard_normal((8, 16))
    b = rng.standard_normal(8)
    reference = conv1x1(x, w, b, method="loop")
    rows, worst = [], 0.0
    for name, fn in FORMULATIONS.items():
        diff = float(np.abs(conv1x1(x, w, b, method=name) - reference).max())
        worst = max(worst, diff)
        rows.append([name, fn.__doc__.splitlines()[0], f"{diff:.1e}"])
    print_table(console, "conv1x1 of x (1, 16, 7, 9) by weight (8, 16), float64",
                ("method", "what it computes", "max |diff| vs loop"), rows,
                numbers=("max |diff| vs loop",), sentences=("what it computes",))
    verdict = "agree" if worst < 1e-12 else "DISAGREE"
    console.print(f"All {len(FORMULATIONS)} formulations {verdict} (largest difference {worst:.1e}).")
    return worst
