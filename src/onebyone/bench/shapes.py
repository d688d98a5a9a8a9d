"""The shape suite: every distinct 1x1 conv in a set of torchvision models, found by running them.

Shapes are read off the models with forward hooks (random weights, nothing downloaded), never
typed by hand, so the suite follows torchvision.
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
    """[(module path, ConvShape)] for every 1x1 nn.Conv2d that runs in model on a random input."""
    import torch

    found = []

    def hook(path):
        def record(module, inputs, output):
            _, cin, h, w = inputs[0].shape
            found.append((path, ConvShape(cin, module.out_channels, h, w, module.stride[0], module.groups)))
        return record

    handles = [m.register_forward_hook(hook(path)) for path, m in model.named_modules()
               if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1)]
    try:
        with torch.no_grad():
            model(torch.randn(input_size))
    finally:
        for h in handles:
            h.remove()
    return found


def suite(models=SUITE_MODELS):
    """The distinct 1x1 conv shapes of `models`, each with the models it appears in."""
    seen = {}
    for name in models:
        for _, shape in conv1x1_shapes(build(name)):
            seen.setdefault(shape, set()).add(name)
    return [ConvShape(s.cin, s.cout, s.height, s.width, s.stride, s.groups, tuple(sorted(m)))
            for s, m in seen.items()]
