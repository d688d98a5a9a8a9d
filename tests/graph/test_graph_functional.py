"""Models that call F.conv2d / F.linear on their own tensors are inspected and optimized too."""
import torch
import torch.nn.functional as F
from graph_toys import assert_same_outputs, assert_unchanged, convs, snapshot
from torch import nn

import onebyone


class Functional(nn.Module):
    """Two 1x1 convs and a linear layer written with torch.nn.functional; `lin` is also read
    directly (a tied weight), so it must stay and be counted once."""

    def __init__(self):
        super().__init__()
        self.w1, self.b1 = nn.Parameter(torch.randn(16, 3, 1, 1)), nn.Parameter(torch.randn(16))
        self.w2 = nn.Parameter(torch.randn(4, 16, 1, 1))
        self.lin = nn.Parameter(torch.randn(5, 4))

    def forward(self, x):
        y = F.conv2d(F.conv2d(x, self.w1, self.b1), weight=self.w2, padding=0)
        return F.linear(y.mean((2, 3)), self.lin) + self.lin.sum()


def test_functional_convs_are_found_and_collapsed():
    model, x = Functional().eval(), torch.randn(2, 3, 6, 5)
    snap = snapshot(model)
    found = onebyone.inspect(model, x)
    assert [(r["module"], r["cin"], r["cout"]) for r in found.rows] == [("w1_conv2d", 3, 16), ("w2_conv2d", 16, 4)]
    assert found.totals["model_params"] == sum(p.numel() for p in model.parameters())
    assert found.totals["model_macs"] == 2 * 30 * (3 * 16 + 16 * 4) + 2 * 4 * 5
    gm, report = onebyone.optimize(model, x, speed=False)
    assert convs(gm) == 1  # 3 -> 16 -> 4 is cheaper as 3 -> 4
    assert_same_outputs(model, gm, x)
    assert_unchanged(model, snap)
