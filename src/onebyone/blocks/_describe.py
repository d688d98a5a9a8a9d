"""The 1x1 convs of a named block as plain data (ConvRow): what each does and what it costs,
read from the graph's census of the block traced and run once on an input size
(onebyone.explanation.block, which also explains a block's whole cost)."""
import torch

from .._checks import positive_int
from ..explanation.block import ConvRow, describe_module  # noqa: F401  (re-exported)
from ..graph.roles import ROLES  # noqa: F401  (the one vocabulary, re-exported for the legend)


def describe(name, height, width, channels, all_convs=False):
    """The 1x1 convs of the block ``name`` (a key of BLOCKS, built with its defaults for
    ``channels``) on a height x width x channels input, as a list of ConvRow.

    >>> rows = describe("fire", 55, 55, 96)
    >>> [(r.path, r.role, r.in_channels, r.out_channels, r.macs) for r in rows]
    [('squeeze', 'reduce', 96, 12, 3484800), ('expand1x1', 'expand', 12, 48, 1742400)]
    """
    from ._registry import build

    for arg, value in (("height", height), ("width", width), ("channels", channels)):
        positive_int(value, arg)
    # Built and run on the meta device: shapes only, no memory for (H*W)^2 attention maps.
    with torch.device("meta"):
        block = build(name, channels)
    # A block sits inside a network: its output feeds later layers, so its last conv is no head.
    return describe_module(block, (1, channels, height, width), all_convs, output_feeds_layer=True)
