"""The op, explained: `explain()` computes the facts of a layer, `explain_block()` those of a
whole block; renderers format them.

parse.py    shapes and options from text          facts.py    the data (frozen dataclasses)
compute.py  shapes, params, cost, matrix sizes,   words.py    the questions people ask, and the
            the whole-image matrix, the roofline              special cases, in words
code.py     runnable PyTorch code for the layer   example.py  the worked example and its lines
fmt.py      how numbers and the tables read       text.py     the terminal and JSON renderings
page.py     the HTML page (svg.py: its drawings;  block.py    a whole block: its 1x1 convs and
            page_*.js: its interactive part;                  its cost by kind (--block)
            page_values.py: their numbers)
"""
from ..errors import OneByOneError
from . import compute, parse
from .block import explain_block
from .code import pytorch_code
from .facts import Explanation
from .words import answers, notes

SCHEMA = "onebyone.explain/1"


def explain(shape, filters, *, layout=None, dims=2, stride=1, padding=0, groups=1, kernel=1,
            bias=True, example=False, measure=False, seed=0):
    """Explain the convolution of an input `shape` by `filters` filters, with numbers.

    ``shape`` is '28x28x192' (H x W x C, as people write it), '1,192,28,28' (N, C, H, W) or
    a tuple of ints in that order; ``layout`` ('nhwc', 'chw', 'ncdhw', ...) says otherwise.
    ``dims`` is the number of spatial axes (Conv1d/2d/3d). ``kernel``, ``stride`` and
    ``padding`` take an int, one per axis, or text such as '3x3'. ``example=True`` adds a
    worked example checked against torch; ``measure=True`` measures this machine's peaks
    (about a second) instead of assuming them. Returns an Explanation: plain frozen data,
    ``.as_dict()`` for JSON. Bad input raises OneByOneError.

    >>> e = explain("28x28x192", filters=32)
    >>> e.weights.pytorch_shape, e.weights.keras_shape, e.weights.params_with_bias
    ((32, 192, 1, 1), (1, 1, 192, 32), 6176)
    >>> e.matrix.channels_last.left, e.matrix.channels_last.right, e.matrix.channels_last.result
    ((784, 192), (192, 32), (784, 32))
    >>> e.cost.macs, e.whole_image.shape
    (4816896, (25088, 150528))
    >>> explain("28x28", filters=32)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    onebyone.errors.OneByOneError: shape '28x28' gives 2 size(s) but layout 'hwc' needs 3; ...
    """
    for name, flag in (("bias", bias), ("example", example), ("measure", measure)):
        if not isinstance(flag, bool):
            raise OneByOneError(f"{name} must be True or False; got {flag!r}")
    dims = parse.positive_int(dims, "dims")
    batch, cin, size = parse.layer_shape(shape, layout, dims)
    layer = compute.layer(
        batch, cin, parse.positive_int(filters, "filters"), size,
        kernel=parse.per_axis(kernel, "kernel", dims),
        stride=parse.per_axis(stride, "stride", dims),
        padding=parse.per_axis(padding, "padding", dims, minimum=0),
        groups=parse.positive_int(groups, "groups"), bias=bias,
    )
    return from_layer(layer, example=example, measure=measure, seed=seed)


def from_layer(layer, *, example=False, measure=False, seed=0):
    """The Explanation of a checked facts.Layer (compute.layer checks one): explain() without the
    parsing."""
    weights, cost, matrix = compute.weights(layer), compute.cost(layer), compute.matrix_view(layer)
    worked = None
    if example:
        from .example import example as make_example

        worked = make_example(layer, seed)
    return Explanation(
        schema=SCHEMA, layer=layer, weights=weights, cost=cost,
        matrix=matrix, whole_image=compute.whole_image(layer),
        roofline=compute.roofline(layer, cost, compute.measure_peaks() if measure else None),
        notes=notes(layer, weights, cost), example=worked,
        answers=answers(layer, weights, cost, matrix), pytorch_code=pytorch_code(layer),
    )


__all__ = ["explain", "explain_block", "from_layer", "Explanation"]
