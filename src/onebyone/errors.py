"""The one error type of onebyone."""


class OneByOneError(ValueError):
    """Bad input to onebyone: the message says what was expected and what was given.

    It is a ValueError, so code that already catches ValueError keeps working.

    >>> import numpy as np, onebyone
    >>> try:
    ...     onebyone.conv1x1(np.ones((1, 3, 2, 2)), np.ones((4, 5)))
    ... except onebyone.OneByOneError as e:
    ...     print(e)
    x has 3 channels but weight (4, 5) with groups=1 expects 5 input channels
    """


def not_installed(package, purpose, extra):
    """The one error for a missing optional package: what needed it and the extra that brings it.

    >>> print(not_installed("timm", "to build 'timm:resnet18'", "timm"))
    expected the timm package to build 'timm:resnet18'; it is not installed (pip install 'onebyone[timm]')
    """
    return OneByOneError(f"expected the {package} package {purpose}; it is not installed "
                         f"(pip install 'onebyone[{extra}]')")


def first_line(e):
    r"""The first line of an exception's message (its type's name if it has none): the cause
    that a OneByOneError quotes from torch or an engine, on one line.

    >>> first_line(RuntimeError("expected input[1, 4, 8, 8] to have 3 channels\nmore")), first_line(KeyError())
    ('expected input[1, 4, 8, 8] to have 3 channels', 'KeyError')
    """
    return (str(e).strip() or type(e).__name__).splitlines()[0]


def cause_line(e):
    r"""'Type: first line' of an exception, for reports that name what failed.

    >>> cause_line(ValueError("bad\nmore")), cause_line(KeyError())
    ('ValueError: bad', 'KeyError')
    """
    return f"{type(e).__name__}: {first_line(e)}" if str(e).strip() else type(e).__name__
