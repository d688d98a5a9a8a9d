"""The one integer check behind every size, channel count and option that must be counted."""
import numbers

from .errors import OneByOneError


def positive_int(value, name, minimum=1):
    """``value`` as an int if it is an integer >= minimum (bool is not); else OneByOneError.

    >>> positive_int(32, "filters")
    32
    >>> positive_int(True, "groups")
    Traceback (most recent call last):
    onebyone.errors.OneByOneError: groups must be a positive integer; got True
    """
    # bool is an int subclass: True channels is a bug, not a 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise OneByOneError(f"{name} must be {wanted}; got {value!r}")
    return int(value)
