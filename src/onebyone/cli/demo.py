"""`onebyone demo`: the main job on built-in defaults."""
import typer

from . import app


@app.command()
def demo(
    seed: int = typer.Option(0, help="Seed for the random layer and input."),
    model: str = typer.Option("mobilenet_v2", help="torchvision model to inspect and optimize."),
):
    """Explain a layer, show its formulations agree, then inspect and optimize a real model."""
    from ..demo import main_job

    main_job(model, seed)
