"""Read a layer's shape and options from what people type: '28x28x192', '1,192,28,28', '3x3'.

Everything arrives here as text or ints and leaves as ints and tuples, or as one OneByOneError
that says what was expected and what was given. The CLI passes its options through unparsed so
that no string can reach typer's converters and turn into anything but this one-line error.
"""
import numbers

from .. import _checks
from .._axes import SPATIAL_NAMES
from ..errors import OneByOneError

SPATIAL_LETTERS = {d: "".join(axes).lower() for d, axes in SPATIAL_NAMES.items()}  # 2: "hw"
EXAMPLE_SIZE = {"n": 1, "c": 192, "d": 8, "h": 28, "w": 28, "l": 28}  # for error messages


def _example(layout, sep):
    """An example shape in `layout`, for error messages: 'hwc' -> '28x28x192 (H x W x C)'."""
    sizes = sep.join(str(EXAMPLE_SIZE[a]) for a in layout)
    names = (" x " if sep == "x" else ", ").join(a.upper() for a in layout)
    return f"{sizes} ({names})"


def positive_int(value, name, minimum=1):
    """An int >= minimum from an int or a decimal string (the CLI passes its options as text).

    >>> positive_int("32", "--filters")
    32
    >>> positive_int("abc", "--filters")
    Traceback (most recent call last):
    onebyone.errors.OneByOneError: --filters must be a positive integer; got 'abc'
    """
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    return _checks.positive_int(value, name, minimum)  # any other text is refused there


def per_axis(value, name, dims, minimum=1):
    """One int per spatial axis from 3, '3', '3x3', '2,1' or (2, 1).

    >>> per_axis("3", "--kernel", 2), per_axis("1x3", "--kernel", 2)
    ((3, 3), (1, 3))
    """
    parts = _split(value) if isinstance(value, str) else value
    if isinstance(parts, (numbers.Integral, str)):
        parts = [parts]
    try:
        parts = list(parts)
        if len(parts) == 1:
            parts = parts * dims
        if len(parts) != dims:
            raise OneByOneError("wrong count")
        return tuple(positive_int(p, name, minimum) for p in parts)
    except (OneByOneError, TypeError):  # one message for every way it can be wrong (3.5 too)
        raise OneByOneError(
            f"{name} must be one integer >= {minimum} or {dims} of them (one per spatial axis); "
            f"got {value!r}"
        ) from None


def _split(text):
    return [p for p in text.lower().replace(",", "x").split("x")] if text.strip() else [text]


def layer_shape(shape, layout=None, dims=2):
    """(batch, channels, spatial) from a shape in some layout.

    '28x28x192' is read as H x W x C (no batch), the way people write it; '1,192,28,28' or a
    tuple of ints is read as N, C, H, W unless ``layout`` (letters n, c and the spatial
    letters, e.g. 'nhwc', 'chw', 'ncdhw') says otherwise.

    >>> layer_shape("28x28x192")
    (1, 192, (28, 28))
    >>> layer_shape("1,28,28,192", layout="nhwc")
    (1, 192, (28, 28))
    >>> layer_shape("28x28")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    onebyone.errors.OneByOneError: shape '28x28' gives 2 size(s) but layout 'hwc' needs 3; ...
    """
    dims = positive_int(dims, "dims")
    if dims not in SPATIAL_LETTERS:
        raise OneByOneError(f"dims must be 1, 2 or 3 (Conv1d, Conv2d, Conv3d); got {dims}")
    spatial = SPATIAL_LETTERS[dims]
    sep = "x" if isinstance(shape, str) and "," not in shape else ","
    try:
        parts = _split(shape.strip().lower()) if isinstance(shape, str) else list(shape)
    except TypeError:  # 28, None: neither text nor a sequence of sizes
        raise OneByOneError(f"expected a shape such as '28x28x192' or (1, 192, 28, 28); "
                            f"got {shape!r}") from None
    default = spatial + "c" if sep == "x" else "nc" + spatial
    layout = _check_layout(layout or default, spatial)
    if len(parts) != len(layout):
        raise OneByOneError(
            f"shape {shape!r} gives {len(parts)} size(s) but layout {layout!r} needs "
            f"{len(layout)}; expected e.g. {_example(layout, sep)}"
        )
    sizes = dict(zip(layout, (_size(p, shape) for p in parts)))
    return sizes.get("n", 1), sizes["c"], tuple(sizes[a] for a in spatial)


def _size(part, shape):
    try:
        return positive_int(part, "size")
    except OneByOneError:
        raise OneByOneError(
            f"every size in a shape must be an integer >= 1; got {part!r} in {shape!r}"
        ) from None


def _check_layout(layout, spatial):
    layout = str(layout).strip().lower()
    expected = sorted("c" + spatial)
    letters = sorted(layout.replace("n", "", 1) if layout.startswith("n") else layout)
    if letters != expected:
        raise OneByOneError(
            f"layout must name each axis once: optional n first, then c and {spatial!r} in any "
            f"order (e.g. n{spatial}c or nc{spatial}); got {layout!r}"
        )
    return layout
