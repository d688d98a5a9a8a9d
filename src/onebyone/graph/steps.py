"""One pass run on a graph and verified against the graph before it (used by optimize).

A pass that crashes, breaks the graph or changes outputs beyond tolerance is rolled back with a
warning and reported, never raised: a bug in a pass never costs the user their model.
"""
import warnings

from ..errors import OneByOneError, cause_line
from . import verify
from .passes import PASSES
from .reports import PassReport
from .trace import propagate


def run_verified(name, graph, before, options, tol, inputs, checks):
    """(graph, outputs, step report) after pass ``name``, verified against ``before`` (the
    outputs of ``graph``); a pass beyond tolerance is rolled back with a warning."""
    new, rep, out = _run(name, graph, options, inputs, checks)
    if rep.changed == 0 and rep.failure is None:  # same graph: nothing to verify or keep
        new, out = graph, before
    rep.error = verify.error(before, out) if out is not None else float("inf")
    rep.tolerance = tol
    rep.kept = rep.error <= tol
    if not rep.kept:
        why = (f"it failed ({rep.failure})" if rep.failure is not None
               else f"output error {rep.error:.2e} exceeds tolerance {tol:.0e}")
        warnings.warn(f"onebyone.optimize: pass {name} rolled back: {why}", stacklevel=4)
        return graph, before, rep
    return new, out, rep


def applier(base, base_out, tol, inputs, checks, steps, say):
    """apply(graph, name) for graph.targets: the verified graph after a layout pass, or None when
    it changes nothing or is rolled back; each (graph, pass) runs once, whatever the targets."""
    outputs, memo = {id(base): base_out}, {}

    def apply(graph, name):
        key = (id(graph), name)
        if key not in memo:
            say(f"pass {name}")
            new, out, rep = run_verified(name, graph, outputs[id(graph)], {}, tol, inputs, checks)
            steps.append(rep)
            memo[key] = None if new is graph else new
            outputs[id(new)] = out
        return memo[key]
    return apply


def _run(name, gm, options, inputs, checks):
    """(new gm, report, outputs); a pass that crashes or breaks the graph is reported, not raised
    (outputs None), so a bug in a pass never costs the user their model."""
    try:
        new, rep = PASSES[name](gm, **options)
    except OneByOneError:  # bad options from the user: theirs to fix
        raise
    except Exception as e:
        return None, PassReport(name, failure=cause_line(e)), None
    try:
        first = []  # the shape-recording run is also the check on the user's example
        new = propagate(new, inputs, keep_output=first)
        return new, rep, first + verify.outputs(new, checks[1:])
    except Exception as e:
        rep.failure = cause_line(e)
        return None, rep, None


