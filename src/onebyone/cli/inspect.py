"""`onebyone inspect MODEL`: every pointwise layer in a model (1x1 convs, and Linear layers on
spatial or token axes), its cost and role, the findings, and the modules kept whole."""
import typer

from . import app


@app.command()
def inspect(
    model: str = typer.Argument(..., help="torchvision model name (resnet18), timm:NAME "
                                "(timm:efficientnet_b0; random weights, nothing downloaded), or a "
                                ".pt/.pth (pickled module), TorchScript, .pt2 (torch.export) or "
                                ".onnx file."),
    input: str = typer.Option(None, "--input", help="Input shape, comma separated (default "
                              "1,3,224,224; for an .onnx file it fills the symbolic dims, default "
                              "the file's own)."),
    json: bool = typer.Option(False, "--json", help="Print JSON instead of the table."),
    plot: str = typer.Option(None, "--plot", help="Save a PNG bar chart of MACs per 1x1 conv."),
):
    """Find every 1x1 conv (and Linear on tokens) in MODEL: table, totals, findings."""
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
        if not json:  # stdout stays pure JSON with --json
            print(f"wrote {plot}")
