"""How numbers and shapes read, shared by the text and HTML renderers."""
from .._units import IEC, SI, human

AXES = {1: "L", 2: "H x W", 3: "D x H x W"}


def shape(t):
    """(784, 192) -> '(784, 192)'; a 1-tuple keeps no trailing comma."""
    return "(" + ", ".join(str(v) for v in t) + ")"


def x(t):
    """(28, 28, 192) -> '28x28x192'."""
    return "x".join(str(v) for v in t)


def count(n):
    """Thousands separators, and a short form for big numbers.

    >>> count(4816896), count(512)
    ('4,816,896 (4.82 M)', '512')
    """
    return f"{n:,} ({human(n, SI[:3])})" if n >= 1e6 else f"{n:,}"


def nbytes(n):
    return human(n, IEC, unit="B")


def seconds(s):
    """A duration in the unit that reads best: 9.6e-05 -> '96.3 us'."""
    for size, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "us")):
        if s >= size:
            return f"{s / size:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def rate(v, unit):
    return f"{v / 1e9:.3g} G{unit}/s"


def product(p):
    """A matrix product with its shapes, and how many of them when there are several.

    >>> from onebyone.explanation.facts import Product
    >>> product(Product((784, 48), (48, 8), (784, 8), count=4, meaning=""))
    '(784, 48) @ (48, 8) -> (784, 8)  x 4'
    """
    times = f"  x {p.count:,}" if p.count > 1 else ""
    return f"{shape(p.left)} @ {shape(p.right)} -> {shape(p.result)}{times}"


def dot(d):
    """One output value written out, negative numbers in parentheses.

    >>> from onebyone.explanation.facts import DotProduct
    >>> dot(DotProduct(pixel=(0, 0), out_channel=0, terms=((2, 1), (-1, 3)), bias=1, value=0))
    '2*1 + (-1)*3 + 1 = 0'
    """
    terms = " + ".join(f"{_paren(w)}*{_paren(v)}" for w, v in d.terms)
    bias = f" + {_paren(d.bias)}" if d.bias else ""
    return f"{terms}{bias} = {d.value}"


def _paren(v):
    return f"({v})" if v < 0 else str(v)


def plural(n, word):
    """plural(1, 'filter') -> '1 filter'; plural(32, 'filter') -> '32 filters'."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def layer_title(L):
    kind = "1x1" if all(k == 1 for k in L.kernel) else x(L.kernel)
    return (f"{kind} Conv{L.dims}d: {x(L.input_size + (L.in_channels,))} -> "
            f"{plural(L.out_channels, 'filter')} -> {x(L.output_size + (L.out_channels,))}"
            f" ({AXES[L.dims]} x C, batch {L.batch})")


def at(nested, index):
    """nested[i][j]... for index (i, j, ...)."""
    for i in index:
        nested = nested[i]
    return nested


def lists(t):
    """Nested tuples as Python lists, whole floats without '.0': ((1.0, -2.0),) -> '[[1, -2]]'."""
    def plain(v):
        if isinstance(v, tuple):
            return [plain(u) for u in v]
        return int(v) if isinstance(v, float) and v.is_integer() else v

    return str(plain(t))
