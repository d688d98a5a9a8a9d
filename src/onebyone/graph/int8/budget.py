"""The user's error budget for int8: what the int8 engine may cost against the float model.

A budget is judged on held-out inputs (never the calibration ones), outputs of the float model
(torch, the reference) against outputs of the int8 engine:

- None (the default): both a relative error bound per output, RELATIVE, and top-1 agreement
  with the float model, AGREEMENT, on every (N, C) output with C > 1 (a classifier's logits);
- a number: that relative bound per output instead of RELATIVE (top-1 agreement still checked);
- a callable ``budget(float_outputs, int8_outputs) -> bool``: the user's own metric, each
  argument a list with the model's outputs per held-out input (in their order, so a metric can
  read the user's labels); True means within budget.

The relative error is onebyone.graph.verify's: max |int8 - float| / max |float| per output
tensor, NaN/inf where the float model is finite an infinite error.
"""
import math
import numbers

import torch
from torch.utils._pytree import tree_flatten

from ...errors import OneByOneError, cause_line
from .. import verify

# Static per-channel int8 QDQ on torchvision models with random weights measured 2-3e-2 here
# (mobilenet_v3_large 2.8e-2, see docs/benchmarks.md); 5e-2 admits that and catches a layer
# that quantizes badly (a channel with an outlier range costs ~1e-1 and more).
RELATIVE = 0.05
# One changed answer in a hundred: the "within 1 point" of accuracy the digits task asks for.
AGREEMENT = 0.99


class Budget:
    """A parsed budget; judge(reference, candidate) says whether int8 is within it.

    >>> b = Budget(0.1)
    >>> ref = [torch.tensor([[1.0, 3.0]])]
    >>> b.judge(ref, [torch.tensor([[1.05, 3.0]])])["met"], b.judge(ref, [torch.tensor([[3.5, 3.0]])])["met"]
    (True, False)
    >>> Budget("1%")
    Traceback (most recent call last):
    onebyone.errors.OneByOneError: expected a budget: a relative error bound (a positive number) or a function of the float and int8 outputs; got str '1%'
    """

    def __init__(self, spec=None):
        if spec is None or _number(spec):
            self.relative = RELATIVE if spec is None else float(spec)
            self.metric = None
        elif callable(spec):
            self.relative, self.metric = None, spec
        else:
            raise OneByOneError("expected a budget: a relative error bound (a positive number) or a "
                                f"function of the float and int8 outputs; got {type(spec).__name__} {spec!r}")

    def describe(self):
        if self.metric is not None:
            name = getattr(self.metric, "__name__", type(self.metric).__name__)
            return f"the user's metric {name}(float outputs, int8 outputs) is true"
        return (f"relative error <= {self.relative:.0e} per output and top-1 agreement with the "
                f"float model >= {AGREEMENT:.0%} on classifier outputs")

    def judge(self, reference, candidate):
        """{"met", "error", "agreement" (None without classifier outputs), "why"}."""
        found = verify.compare(reference, candidate)
        agreement = top1_agreement(reference, candidate)
        verdict = {"error": found["error"], "agreement": agreement}
        if not math.isfinite(found["error"]):  # NaN/inf where the float model is finite
            met, why = False, f"int8 gives {found['why'] or 'non-finite values'} at output {found['worst']!r}"
        elif self.metric is not None:  # a metric may read NaN rows as right (argmax takes NaN)
            met = _call(self.metric, reference, candidate)
            why = "the user's metric is " + ("true" if met else "false")
        elif not found["error"] <= self.relative:  # NaN compares false: NaN misses
            met, why = False, f"relative error {found['error']:.2e} > {self.relative:.0e} at output {found['worst']!r}"
        elif agreement is not None and agreement < AGREEMENT:
            met, why = False, f"top-1 agreement {agreement:.1%} < {AGREEMENT:.0%}"
        else:
            met, why = True, f"relative error {found['error']:.2e} <= {self.relative:.0e}" + (
                f", top-1 agreement {agreement:.1%}" if agreement is not None else "")
        return {**verdict, "met": met, "why": why}


def top1_agreement(reference, candidate):
    """Share of rows whose argmax is the same, over every (N, C) floating output with C > 1 of
    every held-out input; None if the model has no such output.

    >>> top1_agreement([torch.tensor([[0.0, 1.0], [2.0, 1.0]])], [torch.tensor([[0.0, 1.0], [0.0, 1.0]])])
    0.5
    """
    pairs = [(r, c) for r, c in zip(tree_flatten(reference)[0], tree_flatten(candidate)[0])
             if isinstance(r, torch.Tensor) and r.is_floating_point() and r.ndim == 2 and r.shape[1] > 1
             and isinstance(c, torch.Tensor) and c.shape == r.shape]
    if not pairs:
        return None
    same = sum(int((r.argmax(1) == c.argmax(1)).sum()) for r, c in pairs)
    return same / sum(r.shape[0] for r, _ in pairs)


def _number(x):
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return False
    if not (math.isfinite(float(x)) and float(x) > 0):
        raise OneByOneError(f"expected a positive, finite relative error bound as the budget; got {x!r}")
    return True


def _call(metric, reference, candidate):
    try:
        met = metric(reference, candidate)
    except Exception as e:
        raise OneByOneError(f"expected the budget function to accept (float outputs, int8 outputs); "
                            f"it raised {cause_line(e)}") from e
    if not isinstance(met, (bool, int)) and type(met).__name__ != "bool_":  # numpy's bool too
        raise OneByOneError(f"expected the budget function to return True or False; got "
                            f"{type(met).__name__} {met!r}")
    return bool(met)
