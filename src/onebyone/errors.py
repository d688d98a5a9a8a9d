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
