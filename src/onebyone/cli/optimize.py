"""`onebyone optimize MODEL -o OUT`: rewrite a model's 1x1 convs, verified, and save it."""
import warnings

import typer

from .._files import check_writable, write_atomic
from . import app


@app.command()
def optimize(
    model: str = typer.Argument(..., help="torchvision model name (resnet18), timm:NAME "
                                "(timm:efficientnet_b0; random weights), or a .pt/.pth (pickled "
                                "module) or .pt2 (torch.export) file."),
    out: str = typer.Option(..., "-o", "--out", help="Where to torch.save the optimized GraphModule."),
    passes: str = typer.Option(None, "--passes", show_default=False,
                               help="Comma-separated passes (default: every lossless one, i.e. "
                               "onebyone.graph.passes.DEFAULT); add low_rank to opt in."),
    input: str = typer.Option("1,3,224,224", "--input", help="Input shape, comma separated."),
    rank: int = typer.Option(None, "--rank", help="low_rank: keep this many singular values."),
    energy: float = typer.Option(0.999, "--energy", help="low_rank: keep this share of sum(s^2)."),
    lossy_tolerance: float = typer.Option(0.05, "--lossy-tolerance",
                                          help="low_rank: largest output error kept (relative)."),
    speed: bool = typer.Option(True, "--speed/--no-speed", help="Time before/after (interleaved)."),
    runs: int = typer.Option(7, "--runs", min=1, help="Timed rounds; the report gives medians."),
    json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
):
    """Fold BatchNorm, collapse linear chains, merge parallel 1x1 convs, use the fast op; verify each."""
    import torch

    from ..graph import optimize as run
    from ..graph import render
    from ..graph.passes import DEFAULT

    check_writable(out, "-o")  # before minutes of tracing and verifying, not after
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # roll-backs are shown in the table below
        gm, report = run(model, input, DEFAULT if passes is None else passes, rank=rank, energy=energy,
                         lossy_tolerance=lossy_tolerance, speed=speed, runs=runs)
    write_atomic(out, lambda f: torch.save(gm, f), mode="wb")
    report["saved"] = out
    if json:
        print(render.to_json(report))
    else:
        render.print_optimization(report)
        print(f"saved {out} (load with torch.load(path, weights_only=False))")
