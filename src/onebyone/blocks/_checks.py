"""Constructor-argument checks shared by the blocks: one OneByOneError that names the block,
the argument, what was expected and what was given."""
from .. import _checks
from ..errors import OneByOneError


def positive_int(block, name, value):
    return _checks.positive_int(value, f"{block}: {name}")


def positive_ints(block, **values):
    """Each keyword a positive integer, checked in the order given (the first bad one is named).

    >>> positive_ints("Fire", inplanes=96, squeeze_planes=0)
    Traceback (most recent call last):
    ...
    onebyone.errors.OneByOneError: Fire: squeeze_planes must be a positive integer; got 0
    """
    for name, value in values.items():
        positive_int(block, name, value)


def one_of(block, name, value, allowed):
    if isinstance(value, bool) or value not in allowed:
        choices = ", ".join(map(repr, allowed))
        raise OneByOneError(f"{block}: {name} must be one of {choices}; got {value!r}")
    return value


def odd_kernel(block, name, value):
    # 'same' padding of k // 2 keeps the grid only for odd k.
    positive_int(block, name, value)
    if value % 2 == 0:
        raise OneByOneError(f"{block}: {name} must be an odd kernel size (1, 3, 5, ...); got {value}")
    return value


def positive_number(block, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise OneByOneError(f"{block}: {name} must be a positive number; got {value!r}")
    return value


def flag(block, name, value):
    if not isinstance(value, bool):
        raise OneByOneError(f"{block}: {name} must be True or False; got {value!r}")
    return value
