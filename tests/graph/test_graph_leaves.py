"""Opaque leaves (issue 10): a submodule torch.fx cannot trace is kept whole and named; its own
1x1 convs are still listed, and optimized where its parts trace on their own."""
import pytest
import torch
from graph_toys import assert_same_outputs, randomize_bn, snapshot, assert_unchanged
from torch import nn

from onebyone import OneByOneError
from onebyone.graph import inspect, optimize
from onebyone.graph.leaves import kept_whole
from onebyone.graph.trace import trace


class Gated(nn.Module):
    """Control flow on a tensor (untraceable), around parts that trace on their own."""

    def __init__(self, c=8):
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(c, c // 2, 1, bias=False), nn.BatchNorm2d(c // 2))
        self.expand = nn.Conv2d(c // 2, c, 1)

    def forward(self, x):
        y = self.expand(torch.relu(self.reduce(x)))
        if y.mean() > 100:  # never true here, but torch.fx cannot know that
            y = -y
        return y


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8))
        self.gated = Gated()
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.head(self.gated(torch.relu(self.stem(x))))


class TopLevelFlow(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.conv(x) if x.sum() > 0 else x


def test_untraceable_submodule_is_kept_whole_and_named():
    gm = trace(Net())
    assert kept_whole(gm) == {"gated": "control flow on a tensor"}
    assert any(n.op == "call_module" and n.target == "gated" for n in gm.graph.nodes)


def test_inspect_lists_the_convs_inside_a_kept_whole_module():
    result = inspect(Net(), (1, 3, 6, 6))
    assert [r["module"] for r in result.rows] == ["gated.reduce.0", "gated.expand", "head"]
    assert result.rows[1]["macs"] == 8 * 4 * 36
    assert result.kept_whole == [{"module": "gated", "reason": "control flow on a tensor"}]
    assert result.totals["model_macs"] == 8 * 27 * 36 + 4 * 8 * 36 + 8 * 4 * 36 + 4 * 8 * 36


def test_optimize_folds_inside_a_kept_whole_module():
    model = randomize_bn(Net())
    before = snapshot(model)
    x = torch.randn(1, 3, 6, 6)
    gm, report = optimize(model, x, speed=False)
    fold = next(p for p in report["passes"] if p["pass"] == "fold_bn")
    assert fold["kept"] and fold["changed"] == 2  # the stem's BN and the one inside gated
    assert any(d.startswith("gated.reduce: ") for d in fold["details"])
    assert sum(isinstance(m, nn.BatchNorm2d) for m in gm.modules()) == 0
    assert_same_outputs(model, gm, torch.randn(2, 3, 7, 5))
    assert_unchanged(model, before)
    assert report["kept_whole"] == [{"module": "gated", "reason": "control flow on a tensor"}]


def test_a_model_whose_top_level_cannot_trace_is_an_error():
    with pytest.raises(OneByOneError, match="TopLevelFlow.forward failed to trace"):
        trace(TopLevelFlow())


def test_the_tables_name_what_is_kept_whole(capsys):
    from onebyone.graph import render

    render.print_inspection(inspect(Net(), (1, 3, 6, 6)))
    render.print_optimization(optimize(Net().eval(), (1, 3, 6, 6), speed=False)[1])
    assert capsys.readouterr().out.count("kept whole: gated (control flow on a tensor)") == 2


def test_a_saved_and_loaded_result_still_shows_inside_what_was_kept_whole(tmp_path):
    gm, _ = optimize(Net().eval(), (1, 3, 6, 6), speed=False)
    torch.save(gm, tmp_path / "net.pt")  # pickling a GraphModule drops its meta
    again = inspect(str(tmp_path / "net.pt"), (1, 3, 6, 6))
    assert [k["module"] for k in again.kept_whole] == ["gated"]
    paths = [r["module"] for r in again.rows]  # the saved model's own paths (a part is a graph)
    assert "head" in paths and any(p.startswith("gated.expand") for p in paths)


class Block(nn.Module):
    """Traceable, around an untraceable Gated: once opened, a part with a leaf of its own."""

    def __init__(self):
        super().__init__()
        self.gated = Gated()
        self.mix = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        return self.mix(self.gated(x))


class Outer(nn.Module):
    """Untraceable, calling its Block twice: parts inside parts, each run twice per call."""

    def __init__(self):
        super().__init__()
        self.block = Block()

    def forward(self, x):
        y = self.block(self.block(x))
        return -y if y.mean() > 100 else y


def test_walk_reaches_the_parts_inside_parts_and_every_consumer_sees_them():
    from onebyone.graph.cost import macs
    from onebyone.graph.leaves import walk
    from onebyone.graph.trace import propagate

    model = randomize_bn(nn.Sequential(nn.Conv2d(3, 8, 1), Outer())).eval()
    x = torch.randn(1, 3, 5, 5)
    gm = propagate(trace(model), (x,))
    assert [(p, calls) for p, _, calls in walk(gm)] == [
        ("1.block", 2), ("1.block.gated.reduce", 2), ("1.block.gated.expand", 2)]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    per_pixel = [c.in_channels * c.out_channels for c in convs]  # 1x1 convs on 5x5
    assert macs(gm) == 25 * (per_pixel[0] + 2 * sum(per_pixel[1:]))
    rows = inspect(model, x).rows
    assert [r["module"] for r in rows] == ["0"] + 2 * [
        "1.block.gated.reduce.0", "1.block.gated.expand", "1.block.mix"]
    optimized, report = optimize(model, x, speed=False)
    fold = next(p for p in report["passes"] if p["pass"] == "fold_bn")
    assert fold["changed"] == 1 and fold["details"][0].startswith("1.block.gated.reduce: ")
    assert sum(isinstance(m, nn.BatchNorm2d) for m in optimized.modules()) == 0
    assert_same_outputs(model, optimized, torch.randn(2, 3, 7, 5))
