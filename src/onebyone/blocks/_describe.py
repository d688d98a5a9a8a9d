"""The 1x1 convs of a block as plain data: what each does and what it costs, read from the
graph's census (onebyone.graph.census) of the block traced and run once on an input size."""
from dataclasses import dataclass
from typing import ClassVar

import torch

from .._checks import positive_int
from ..graph.roles import ROLES  # noqa: F401  (the one vocabulary, re-exported for the legend)


@dataclass(frozen=True)
class ConvRow:
    """One conv call inside a block, for a batch of one image."""

    path: str            # module path inside the block, e.g. "branch2.0.conv"
    role: str            # a role of onebyone.graph.roles.ROLES, or "depthwise 3x3" / "spatial 3x3"
    in_channels: int
    out_channels: int
    kernel_size: tuple   # (1, 1) for a 1x1 conv
    groups: int
    stride: tuple
    output_size: tuple   # spatial size of the output, e.g. (28, 28)
    params: int          # weight + bias elements
    macs: int            # multiply-adds: output elements * (in_channels / groups) * kernel area

    HEADERS: ClassVar[tuple] = ("module", "role", "Cin -> Cout", "kernel", "groups", "stride",
                                "output", "params", "multiply-adds")

    def cells(self):
        """The row as strings, in the order of HEADERS (for a rich or plain-text table)."""
        return [self.path, self.role, f"{self.in_channels} -> {self.out_channels}",
                _x(self.kernel_size), str(self.groups), _x(self.stride), _x(self.output_size),
                f"{self.params:,}", f"{self.macs:,}"]


def _x(sizes):
    return "x".join(map(str, sizes))


def describe_module(module, input_shape, all_convs=False):
    """Run ``module`` once on zeros of ``input_shape`` (batch first, e.g. (1, C, H, W)) and
    return a ConvRow per 1x1 conv call (per conv call of any kernel if ``all_convs``), in call
    order. Roles are the graph's (onebyone.graph.roles): declared by the module or a block inside
    it (``conv1x1_roles``), else by the rules.

    A traced copy runs, in eval mode under no_grad, so the module, its flags and its BatchNorm
    statistics are not touched. A module on the "meta" device runs without computing anything,
    which is how ``describe`` handles large inputs.
    """
    from ..graph.census import census
    from ..graph.roles import declared_roles
    from ..graph.trace import propagate, trace

    # The input lives where the weights live and has their dtype (conv1x1 insists on a match).
    param = next(module.parameters(), None)
    like = {} if param is None else {"device": param.device, "dtype": param.dtype}
    gm = propagate(trace(module).eval(), (torch.zeros(input_shape, **like),))
    return [ConvRow(path=r["module"], role=r["role"], in_channels=r["cin"],
                    out_channels=r["cout"], kernel_size=tuple(r["kernel"]), groups=r["groups"],
                    stride=tuple(r["stride"]), output_size=tuple(r["output"][1:]),
                    params=r["params"], macs=r["macs"])
            for r in census(gm, declared_roles(module), all_convs)]


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
    return describe_module(block, (1, channels, height, width), all_convs)
