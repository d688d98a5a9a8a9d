"""A torch.export program's input guards, kept through every rewrite and through torch.save.

export records what inputs a program is valid for (static sizes, ranges of dynamic ones) and its
module() rejects any other input. Rewrites must keep that: a program exported at 64x64 that
silently ran a 96x96 input would return a result its author never checked.
"""
import torch
from torch import nn

from ..errors import OneByOneError


class InputGuard(nn.Module):
    """Raise OneByOneError for an input the exported program would reject.

    shapes: per input, its sizes with None for a dynamic one (None for a non-tensor input).
    check: export's guard function; in memory it runs too (every constraint, with export's
    message), but a saved and reloaded copy checks the static sizes only (export generates its
    guard code when it loads a program, and that code cannot be pickled).

    >>> guard = InputGuard([[1, 3, None]])
    >>> guard(torch.zeros(1, 3, 7))
    >>> guard(torch.zeros(1, 4, 7))
    Traceback (most recent call last):
    ...
    onebyone.errors.OneByOneError: expected an input the exported program accepts; input 0 must have shape [1, 3, None] (None: any), got [1, 4, 7]
    """

    _is_impure = True  # it has no users: dead-code elimination must keep it

    def __init__(self, shapes, check=None):
        super().__init__()
        self.shapes, self.check = shapes, check

    def forward(self, *inputs):
        try:
            if self.check is not None:
                self.check(*inputs)
            for i, (t, shape) in enumerate(zip(inputs, self.shapes)):
                if shape is not None:  # a tensor input
                    ok = t.dim() == len(shape) and all(s in (None, d) for s, d in zip(shape, t.shape))
                    torch._assert(ok, f"input {i} must have shape {shape} (None: any), got "
                                      f"{list(t.shape)}")
        except AssertionError as e:
            raise OneByOneError(f"expected an input the exported program accepts; {e}") from e

    def __getstate__(self):
        return {**self.__dict__, "check": None}


def static_shape(node):
    """[1, 3, 64, 64] from a placeholder's recorded value; None for a dynamic dimension."""
    val = node.meta.get("val") if isinstance(node, torch.fx.Node) else None
    if not isinstance(val, torch.Tensor):
        return None
    return [d if isinstance(d, int) else None for d in val.shape]
