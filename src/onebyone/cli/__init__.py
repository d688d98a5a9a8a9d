"""The `onebyone` command: one app, one verb per module in this package.

User errors (OneByOneError, bad options) print one line and exit with code 2, never a traceback.
"""
import importlib
import sys

import typer

from ..errors import OneByOneError

app = typer.Typer(
    help="The 1x1 convolution: exact, fast, explained, optimized.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool):
    if value:
        from .. import __version__

        typer.echo(f"onebyone {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version,
                                       is_eager=True, help="Print the version and exit.")):
    """The 1x1 convolution: exact, fast, explained, optimized."""


# Each verb module registers its command(s) on `app` when imported.
VERBS = ("demo", "explain", "inspect", "optimize", "bench")
for _verb in VERBS:
    importlib.import_module(f"{__name__}.{_verb}")


def main(argv=None):
    """Run the CLI on argv (default: sys.argv[1:]); always ends with SystemExit."""
    try:
        app(args=argv, prog_name="onebyone")  # typer itself exits 2 on usage errors
    except OneByOneError as e:
        print(f"onebyone: error: {e}", file=sys.stderr)
        sys.exit(2)
