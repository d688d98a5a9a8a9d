"""`onebyone demo`: the main job on built-in defaults."""
import typer

from . import app


@app.command()
def demo(seed: int = typer.Option(0, help="Seed for the random layer and input.")):
    """Run one default layer through every formulation and show that they agree."""
    from ..demo import formulations_agree

    formulations_agree(seed)
