"""`onebyone explain`: a layer's shapes, cost, matrix views and special cases, with numbers.

Every option arrives as text and is parsed by onebyone.explanation.parse, so a bad value is a
OneByOneError (one line, exit 2) and never a typer conversion error or a traceback.
`--block NAME` lists the 1x1 convs of one of onebyone.blocks on the given H x W x C input.
"""
import textwrap
from typing import List, Optional

import typer
from typer.core import TyperCommand

from .._files import check_writable
from ..errors import OneByOneError
from . import app


class _OneLineErrors(TyperCommand):
    """Usage errors (an unknown option, an extra argument) become the one-line OneByOneError."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except Exception as e:
            # By name: typer may use click or its own vendored copy, with the same classes.
            if not any(c.__name__ == "UsageError" for c in type(e).__mro__):
                raise
            raise OneByOneError(f"{e.format_message()} (see onebyone explain --help)") from None


# ignore_unknown_options lets a shape such as -1x2x3 reach our parser (and its error message)
# instead of being read as the short options -1, -x, ...
@app.command(cls=_OneLineErrors, context_settings={"ignore_unknown_options": True})
def explain(
    shape: Optional[str] = typer.Argument(
        None, help="Input as H x W x C, e.g. 28x28x192 (D x H x W x C with --dims 3)."),
    input: Optional[str] = typer.Option(
        None, "--input", help="Input as numbers in --layout order, e.g. 1,192,28,28."),
    layout: Optional[str] = typer.Option(
        None, help="Axis letters of the input: nchw (default for --input), nhwc, chw, ncdhw ..."),
    filters: Optional[str] = typer.Option(None, help="Output channels (number of filters)."),
    stride: str = typer.Option("1", help="Stride: one integer or one per axis (2 or 2,1)."),
    padding: str = typer.Option("0", help="Zero padding: one integer or one per axis."),
    groups: str = typer.Option("1", help="Groups: must divide the channels and the filters."),
    kernel: str = typer.Option("1", help="Kernel size, e.g. 3 or 3x3, to compare a general conv."),
    dims: str = typer.Option("2", help="Spatial axes: 1, 2 or 3 (Conv1d, Conv2d, Conv3d)."),
    no_bias: bool = typer.Option(False, "--no-bias", help="The layer has no bias."),
    example: bool = typer.Option(False, "--example", help="Add a worked numeric example."),
    measure: bool = typer.Option(False, "--measure", help="Measure this machine's peaks (~1 s)."),
    seed: str = typer.Option("0", help="Seed of the worked example."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (schema onebyone.explain/1)."),
    html: Optional[str] = typer.Option(None, "--html", help="Write a self-contained HTML page."),
    block: Optional[str] = typer.Option(
        None, "--block", help="A block of onebyone.blocks (fire, inception, ...): list its 1x1 convs."),
    list_blocks: bool = typer.Option(False, "--list-blocks", help="List the blocks --block knows."),
):
    """Explain a convolution layer: weights, params, FLOPs, matrix views, roofline, notes."""
    from ..explanation import parse

    if (shape or "").startswith("--"):  # an unknown option, let through as the shape
        raise OneByOneError(f"no such option: {shape} (see onebyone explain --help)")
    if list_blocks:
        return _list_blocks()
    if (shape is None) == (input is None):
        raise OneByOneError(
            "give the input once: a shape such as 28x28x192, or --input 1,192,28,28 --layout nchw; "
            f"got {'both' if shape else 'neither'}"
        )
    if block is not None:
        # The block fixes its own layers: a layer option would be silently ignored, so say so.
        layer_options = {"--filters": filters is not None, "--stride": stride != "1",
                         "--padding": padding != "0", "--groups": groups != "1",
                         "--kernel": kernel != "1", "--dims": dims != "2", "--no-bias": no_bias,
                         "--example": example, "--measure": measure, "--seed": seed != "0",
                         "--html": html is not None, "--layout": layout is not None}
        given = [name for name, used in layer_options.items() if used]
        if given:
            raise OneByOneError(f"--block {block} takes only the input H x W x C (and --json); "
                                f"its layers are the block's own; got {', '.join(given)}")
        return _block(block, shape if shape is not None else input, as_json)
    if filters is None:
        raise OneByOneError(
            "--filters is required: the number of output channels, e.g. --filters 32")
    if input is not None and layout is None:  # --input reads like torch: N, C, then space
        layout = "nc" + parse.SPATIAL_LETTERS.get(parse.positive_int(dims, "--dims"), "hw")
    if html:
        check_writable(html, "--html")  # before the work, not after
    explanations = _explanations(
        shape if shape is not None else input, layout=layout, filters=filters, stride=stride,
        padding=padding, groups=groups, kernel=kernel, dims=dims, bias=not no_bias,
        example=example, measure=measure, seed=parse.positive_int(seed, "--seed", minimum=0),
    )
    _emit(explanations, as_json, html)


def _explanations(shape, **options) -> List:
    from ..explanation import explain as explain_layer

    return [explain_layer(shape, **options)]


def _emit(explanations, as_json, html):
    if html:
        from ..explanation.page import write_html

        write_html(explanations, html)
    if as_json:
        from ..explanation.text import to_json

        for e in explanations:
            typer.echo(to_json(e))
    elif html:
        typer.echo(f"wrote {html}")
    else:
        from ..explanation.text import render

        for e in explanations:
            render(e)


def _block(name, shape, as_json):
    """The block's 1x1 convs and its whole cost on an H x W x C input (given as SHAPE or --input)."""
    import torch

    from ..blocks import build
    from ..explanation import explain_block, parse
    from ..explanation.block import render

    if "," in shape:
        raise OneByOneError(f"--block takes the input as H x W x C, e.g. 28x28x192; got {shape!r}")
    _, channels, _ = parse.layer_shape(shape, None, 2)
    with torch.device("meta"):  # shapes only, no memory for (H*W)^2 attention maps
        block = build(name, channels)
    e = explain_block(block, shape, name=name)
    if as_json:
        import json

        typer.echo(json.dumps(e.as_dict()))
    else:
        render(e, console=_console())


def _console():
    from rich.console import Console

    from ..explanation.text import terminal_width

    return Console(width=terminal_width())


def _list_blocks():
    """Every block --block knows, with what it is built as."""
    from ..blocks import BLOCKS

    from ..explanation.text import terminal_width

    names = max(map(len, BLOCKS)) + 2
    for name, make in BLOCKS.items():
        what = " ".join((make.__doc__ or "").split())  # the docstring: how it is built from C
        lines = textwrap.wrap(what, max(20, terminal_width() - names)) or [""]
        typer.echo(name.ljust(names) + lines[0])
        for line in lines[1:]:
            typer.echo(" " * names + line)
    typer.echo("usage: onebyone explain --block NAME HxWxC, e.g. --block fire 55x55x96")
