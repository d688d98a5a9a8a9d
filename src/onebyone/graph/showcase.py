"""One call for the demo and the benchmark: inspect a model, optimize it, print both reports."""
from .inspect import inspect
from .optimize import optimize
from .render import print_inspection, print_optimization


def inspect_and_optimize(model="mobilenet_v2", example_input="1,3,224,224", passes=None,
                         speed=True, runs=7, console=None, show=True):
    """Inspect then optimize ``model``; print the table and the verification/speed report.

    Returns (optimized GraphModule, Inspection, optimize report). ``passes=None`` runs the
    default passes; the report's "speed" holds before/after medians (ms) and the speedup.

    >>> gm, found, report = inspect_and_optimize("squeezenet1_1", "1,3,32,32", speed=False,
    ...                                          show=False)
    >>> found.totals["conv1x1"], report["error"] < report["tolerance"]
    (17, True)
    """
    found = inspect(model, example_input)
    kwargs = {} if passes is None else {"passes": passes}
    gm, report = optimize(model, example_input, speed=speed, runs=runs, **kwargs)
    if show:
        print_inspection(found, console)
        print_optimization(report, console)
    return gm, found, report
