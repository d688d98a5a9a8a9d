"""`onebyone optimize MODEL -o OUT`: rewrite a model's 1x1 convs, verified, and save it."""
import os
import tempfile
import warnings

import typer

from . import app
from ..errors import OneByOneError


@app.command()
def optimize(
    model: str = typer.Argument(..., help="torchvision model name, or a .pt/.pth (pickled module) "
                                "or .pt2 (torch.export) file."),
    out: str = typer.Option(..., "-o", "--out", help="Where to torch.save the optimized GraphModule."),
    passes: str = typer.Option("fold_bn,collapse,merge_parallel,swap,memory_format", "--passes",
                               help="Comma-separated passes; add low_rank to opt in."),
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

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # roll-backs are shown in the table below
        gm, report = run(model, input, passes, rank=rank, energy=energy,
                         lossy_tolerance=lossy_tolerance, speed=speed, runs=runs)
    directory = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(directory):
        raise OneByOneError(f"expected -o in an existing directory; got {out!r}")
    # Whole file or nothing: write next to the target, then rename over it atomically.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".onebyone-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(gm, f)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    report["saved"] = out
    if json:
        print(render.to_json(report))
    else:
        render.print_optimization(report)
        print(f"saved {out} (load with torch.load(path, weights_only=False))")
