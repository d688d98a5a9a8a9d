"""census: the one finder of a model's 1x1 convs (rows, costs, roles) and its users."""
import torch
from torch import nn

from onebyone.bench.shapes import ConvShape, conv1x1_shapes
from onebyone.graph.census import census
from onebyone.graph.roles import ROLES, declared_roles
from onebyone.graph.trace import propagate, trace


class Twice(nn.Module):
    """A 1x1 conv called twice, a strided grouped 1x1, and a 3x3."""

    def __init__(self):
        super().__init__()
        self.shared, self.down = nn.Conv2d(8, 8, 1), nn.Conv2d(8, 16, 1, stride=2, groups=2)
        self.spatial = nn.Conv2d(16, 16, 3, padding=1, groups=16)

    def forward(self, x):
        return self.spatial(self.down(torch.relu(self.shared(torch.relu(self.shared(x))))))


def rows_of(model, shape, **kw):
    return census(propagate(trace(model), (torch.randn(shape),)), declared_roles(model), **kw)


def test_one_row_per_call_with_shapes_and_costs():
    rows = rows_of(Twice(), (2, 8, 7, 5))
    assert [r["module"] for r in rows] == ["shared", "shared", "down"]
    down = rows[2]
    assert (down["kind"], down["input"], down["output"], down["stride"], down["groups"]) == (
        "conv", [8, 7, 5], [16, 4, 3], [2, 2], 2)
    # Each output element reads Cin / groups = 4 inputs; the batch of 2 counts twice.
    assert down["macs"] == 2 * 16 * 4 * 3 * 4 and down["params"] == 16 * 4 + 16
    assert {r["role"] for r in rows} <= set(ROLES)


def test_all_convs_adds_spatial_rows_with_their_own_role():
    rows = rows_of(Twice(), (1, 8, 6, 6), all_convs=True)
    assert [(r["module"], r["kernel"], r["role"]) for r in rows][-1] == ("spatial", [3, 3], "depthwise 3x3")


def test_a_declared_role_wins_over_the_rules():
    model = Twice()
    # A role the rules would not give ("shared" mixes 8 -> 8), so ignoring the declaration fails.
    model.conv1x1_roles = {"shared": "attention: query"}
    assert [r["role"] for r in rows_of(model, (1, 8, 6, 6))] == [
        "attention: query", "attention: query", "projection"]
    del model.conv1x1_roles
    assert [r["role"] for r in rows_of(model, (1, 8, 6, 6))] == ["mix", "mix", "projection"]
    assert rows_of(model, (1, 8, 6, 6))[2]["role"] == "projection"  # strided: the rule agrees


def test_bench_shapes_are_the_census_rows_read_by_hooks_too():
    model = Twice().eval()
    found = []  # the slow reference: what each 1x1 Conv2d call really reads
    hooks = [m.register_forward_hook(lambda m, i, o: found.append(
        (tuple(i[0].shape[1:]), m.out_channels, m.stride[0], m.groups)))
        for m in (model.shared, model.down)]
    model(torch.randn(1, 8, 9, 7))
    for h in hooks:
        h.remove()
    shapes = conv1x1_shapes(model, (1, 8, 9, 7))
    assert [s for _, s in shapes] == [ConvShape(c, o, h, w, s, g) for (c, h, w), o, s, g in found]
    assert shapes[2][1].label() == "8x9x7->16/s2/g2"
