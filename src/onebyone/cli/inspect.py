"""`onebyone inspect MODEL`: every 1x1 conv in a model, its cost and role, and the findings."""
import typer

from . import app


@app.command()
def inspect(
    model: str = typer.Argument(..., help="torchvision model name, or a .pt/.pth (pickled module), "
                                "TorchScript, .pt2 (torch.export) or .onnx file."),
    input: str = typer.Option("1,3,224,224", "--input", help="Input shape, comma separated."),
    json: bool = typer.Option(False, "--json", help="Print JSON instead of the table."),
    plot: str = typer.Option(None, "--plot", help="Save a PNG bar chart of MACs per 1x1 conv."),
):
    """Find every 1x1 conv in MODEL: table, totals, foldable / mergeable / low-rank findings."""
    from .._files import check_writable
    from ..errors import OneByOneError
    from ..graph import inspect as run
    from ..graph import render

    if plot:  # before the model is built and traced, not after
        if not plot.lower().endswith(".png"):
            raise OneByOneError(f"expected --plot to name a .png file (the chart is a PNG); got {plot!r}")
        check_writable(plot, "--plot")
    result = run(model, input)
    if json:
        print(render.to_json(result))
    else:
        render.print_inspection(result)
    if plot:
        render.plot_macs(result, plot)
