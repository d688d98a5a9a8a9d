"""The shape suite: every distinct 1x1 conv in a set of torchvision models, found by running them.

Shapes are read off the traced models by the graph's census (random weights, nothing
downloaded), never typed by hand, so the suite follows torchvision.
"""
from dataclasses import dataclass, field

from ..graph.zoo import build

SUITE_MODELS = ("resnet50", "mobilenet_v2", "googlenet", "squeezenet1_1",
                "shufflenet_v2_x1_0", "efficientnet_b0")


@dataclass(frozen=True)
class ConvShape:
    """One 1x1 conv as it runs at batch 1: input (1, Cin, H, W) -> Cout."""

    cin: int
    cout: int
    height: int
    width: int
    stride: int = 1
    groups: int = 1
    models: tuple = field(default=(), compare=False)

    def label(self) -> str:
        s = f"{self.cin}x{self.height}x{self.width}->{self.cout}"
        return s + (f"/s{self.stride}" if self.stride > 1 else "") + (f"/g{self.groups}" if self.groups > 1 else "")


def conv1x1_shapes(model, input_size=(1, 3, 224, 224)):
    """[(module path, ConvShape)] for every 2-D 1x1 conv call in model on a random input, read
    from the graph's census (onebyone.graph.census), the one finder of a model's 1x1 convs."""
    import torch

    from ..graph.census import census
    from ..graph.trace import propagate, trace

    gm = propagate(trace(model), (torch.randn(input_size),))
    return [(r["module"], ConvShape(r["cin"], r["cout"], *r["input"][1:], r["stride"][0], r["groups"]))
            for r in census(gm) if r["kind"] == "conv" and len(r["input"]) == 3]


def suite(models=SUITE_MODELS):
    """The distinct 1x1 conv shapes of `models`, each with the models it appears in."""
    seen = {}
    for name in models:
        for _, shape in conv1x1_shapes(build(name)):
            seen.setdefault(shape, set()).add(name)
    return [ConvShape(s.cin, s.cout, s.height, s.width, s.stride, s.groups, tuple(sorted(m)))
            for s, m in seen.items()]
