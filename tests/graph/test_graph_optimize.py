"""optimize: verified after every pass, rolled back when wrong, never touching the user's model."""
import re

import pytest
import torch
from graph_toys import (Chain, Siblings, assert_same_outputs, assert_unchanged, bns, convs,
                        randomize_bn, snapshot)
from torch import nn

import onebyone
from onebyone import OneByOneError
from onebyone.graph import passes
from onebyone.nn import Conv1x1


def toy():
    return randomize_bn(nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                      nn.Conv2d(16, 64, 1), nn.BatchNorm2d(64), nn.Conv2d(64, 8, 1)))


def test_default_passes_fold_collapse_swap_and_keep_outputs():
    model, x = toy(), torch.randn(2, 3, 10, 10)
    gm, report = onebyone.optimize(model, x, speed=False)
    assert (bns(gm), convs(gm)) == (0, 2)  # BN folded; 1x1 -> 1x1 collapsed
    assert sum(isinstance(m, Conv1x1) for m in gm.modules()) == 1
    assert_same_outputs(model, gm, x)
    assert all(p["kept"] and p["error"] <= p["tolerance"] for p in report["passes"])
    assert report["after"]["macs"] < report["before"]["macs"]
    assert report["after"]["params"] < report["before"]["params"]


def test_model_is_never_mutated():
    model = toy()
    snap = snapshot(model)
    onebyone.optimize(model, (1, 3, 8, 8), passes=list(passes.PASSES), speed=False)
    onebyone.inspect(model, (1, 3, 8, 8))
    assert_unchanged(model, snap)


def test_merge_in_optimize_and_save_load(tmp_path):
    model, x = Siblings().eval(), torch.randn(1, 8, 6, 6)
    gm, report = onebyone.optimize(model, x, passes="merge_parallel", speed=False)
    assert convs(model) - convs(gm) == 2
    path = tmp_path / "m.pt"
    torch.save(gm, path)
    loaded = torch.load(path, weights_only=False)
    assert_same_outputs(model, loaded, x)


def test_a_pass_that_changes_outputs_is_rolled_back(monkeypatch):
    def breaks_it(gm):
        gm = passes._rewrite.clone(gm)
        with torch.no_grad():
            next(gm.parameters()).mul_(1.01)
        return gm, passes._rewrite.report("fold_bn", ["scaled a weight"])

    monkeypatch.setitem(passes.PASSES, "fold_bn", breaks_it)
    model = toy()
    with pytest.warns(UserWarning, match="fold_bn rolled back"):
        gm, report = onebyone.optimize(model, (1, 3, 8, 8), passes=["fold_bn"], speed=False)
    assert report["passes"][0]["kept"] is False and report["error"] == 0
    assert_same_outputs(model, gm, torch.randn(1, 3, 8, 8))


def crashes(gm):
    raise RuntimeError("a bug in a pass")


def breaks_the_graph(gm):
    gm = passes._rewrite.clone(gm)
    conv = next(n for n in gm.graph.nodes if n.op == "call_module")
    conv.args = (conv,)  # reads its own output: the graph no longer runs
    return gm, passes._rewrite.report("swap", ["oops"])


@pytest.mark.parametrize("bad_pass", [crashes, breaks_the_graph])
def test_a_pass_that_fails_is_rolled_back(monkeypatch, bad_pass):
    monkeypatch.setitem(passes.PASSES, "swap", bad_pass)
    model = toy()
    with pytest.warns(UserWarning, match="swap rolled back"):
        gm, report = onebyone.optimize(model, (1, 3, 8, 8), passes=["swap"], speed=False)
    assert "failure" in report["passes"][0] and not report["passes"][0]["kept"]
    assert_same_outputs(model, gm, torch.randn(1, 3, 8, 8))


def test_speed_report_when_asked():
    _, report = onebyone.optimize(toy(), (1, 3, 8, 8), passes=["fold_bn"], runs=2)
    assert set(report["speed"]) == {"before_ms", "after_ms", "speedup", "runs", "denormals"}


def test_low_rank_is_opt_in_and_reports_its_error():
    conv = nn.Conv2d(32, 32, 1)
    with torch.no_grad():
        conv.weight.copy_((torch.randn(32, 3) @ torch.randn(3, 32)).reshape(32, 32, 1, 1))
    model, x = Chain(conv, nn.Conv2d(32, 4, 3), act=nn.ReLU()).eval(), torch.randn(1, 32, 6, 6)
    gm, report = onebyone.optimize(model, x, speed=False)
    assert convs(gm) == 2
    gm, report = onebyone.optimize(model, x, passes=["low_rank"], speed=False)
    (step,) = report["passes"]
    assert convs(gm) == 3 and step["kept"] and "at rank 3" in step["details"][0]
    assert_same_outputs(model, gm, x)


def test_lossy_low_rank_beyond_tolerance_is_rolled_back():
    model = nn.Sequential(nn.Conv2d(64, 64, 1)).eval()  # random weights: a flat spectrum
    with pytest.warns(UserWarning, match="low_rank rolled back"):
        gm, report = onebyone.optimize(model, (1, 64, 4, 4), passes=["low_rank"], rank=4,
                                       lossy_tolerance=0.01, speed=False)
    assert convs(gm) == 1 and report["passes"][0]["error"] > 0.01


@pytest.mark.parametrize("call, message", [
    (lambda: onebyone.optimize(toy(), (1, 3, 8, 8), passes="fold_bn,warp"), "expected passes from"),
    (lambda: onebyone.optimize(toy().train(), (1, 3, 8, 8)), "eval mode"),
    (lambda: onebyone.optimize(toy(), "1,3,x"), "input shape"),
    (lambda: onebyone.optimize(toy(), (1, 5, 8, 8)), "expected an input the model accepts"),
    (lambda: onebyone.optimize(toy(), (1, 3, 8, 8), passes="low_rank", rank=0), "rank"),
    (lambda: onebyone.inspect("resnet_9000"), "torchvision"),
])
def test_user_errors_are_one_clear_error(call, message):
    with pytest.raises(OneByOneError, match=message):
        call()


class Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1)
        self.body = DataDependent()

    def forward(self, x):
        return self.body(self.stem(x))


class DataDependent(nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x  # control flow on values: not traceable


def test_untraceable_part_is_kept_whole_and_named():
    # it used to stop everything ("module 'body' failed to trace"); now only the part is opaque
    result = onebyone.inspect(Untraceable(), (1, 3, 4, 4))
    assert result.kept_whole == [{"module": "body", "reason": "control flow on a tensor"}]
    assert [r["module"] for r in result.rows] == ["stem"]


class InplaceBranches(nn.Module):
    """Two 1x1 branches followed by in-place ReLUs, as in torchvision's Inception."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(8, 3, 1), nn.Conv2d(8, 5, 1)

    def forward(self, x):
        return torch.cat([torch.relu_(self.a(x)), nn.functional.relu(self.b(x), inplace=True)], 1)


def test_merged_branches_still_train_with_inplace_consumers():
    model, x = InplaceBranches().eval(), torch.randn(2, 8, 5, 5)
    gm, report = onebyone.optimize(model, x, passes="merge_parallel", speed=False)
    assert convs(gm) == 1
    out = gm(x)  # grad mode: in-place ops on the merged output's slices must be allowed
    out.sum().backward()
    model(x).sum().backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    merged = next(m for m in gm.modules() if isinstance(m, nn.Conv2d))
    torch.testing.assert_close(merged.weight.grad, torch.cat([grads["a.weight"], grads["b.weight"]]))
    assert_same_outputs(model, gm, x)


def test_optimized_model_backpropagates_through_inplace_relu():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 4, 1), nn.ReLU(inplace=True)).eval()
    gm, _ = onebyone.optimize(model, (1, 3, 6, 6), passes="swap", speed=False)
    gm(torch.randn(1, 3, 6, 6)).sum().backward()
    assert gm.get_submodule("1").weight.grad is not None


@pytest.mark.parametrize("layer, name", [
    (nn.Dropout2d(0.5), "'1' (Dropout2d)"), (nn.Dropout3d(0.5), "'1' (Dropout3d)"),
    (nn.AlphaDropout(0.5), "'1' (AlphaDropout)"), (nn.Conv2d(4, 4, 1), "'1' (Conv2d)"),
])
def test_any_module_in_training_mode_blocks_optimize_and_is_named(layer, name):
    model = nn.Sequential(nn.Conv2d(3, 4, 1), layer, nn.Conv2d(4, 4, 1)).eval()
    layer.train()
    with pytest.raises(OneByOneError, match=re.escape(f"eval mode (call model.eval()); got {name} in")):
        onebyone.optimize(model, (1, 3, 8, 8), speed=False)


@pytest.mark.parametrize("call", [onebyone.optimize, onebyone.inspect])
def test_not_a_model_is_one_clear_error(call):
    with pytest.raises(OneByOneError, match="expected an nn.Module, a model name or a file; got int"):
        call(42)


CHANNELS = "expected input[1, 4, 8, 8] to have 3 channels, but got 4"


def test_a_wrong_input_shape_is_one_error_with_torchs_cause(capfd):
    with pytest.raises(OneByOneError) as caught:
        onebyone.optimize(toy(), (1, 4, 8, 8), speed=False)
    message = str(caught.value)
    assert CHANNELS in message and "\n" not in message
    assert isinstance(caught.value.__cause__, RuntimeError)  # chained: the traceback keeps it
    assert capfd.readouterr().err == ""  # torch.fx printed its generated code here before


def test_the_cli_prints_the_cause_on_one_line_and_exits_2(tmp_path, capfd):
    from onebyone.cli import main

    path = tmp_path / "toy.pt"
    torch.save(toy(), path)
    with pytest.raises(SystemExit) as e:
        main(["optimize", str(path), "-o", str(tmp_path / "out.pt"), "--input", "1,4,8,8", "--no-speed"])
    captured = capfd.readouterr()  # capfd: what torch.fx writes to the stderr file counts too
    lines = (captured.out + captured.err).strip().splitlines()
    assert e.value.code == 2 and len(lines) == 1 and CHANNELS in lines[0], lines


def test_a_pt2_keeps_its_input_guards(tmp_path):
    model = toy()
    path = tmp_path / "toy.pt2"
    torch.export.save(torch.export.export(model, (torch.randn(1, 3, 64, 64),)), path)
    gm, _ = onebyone.optimize(str(path), (1, 3, 64, 64), speed=False)
    assert_same_outputs(model, gm, torch.randn(1, 3, 64, 64))
    saved = tmp_path / "out.pt"
    torch.save(gm, saved)
    for program in (gm, torch.load(saved, weights_only=False)):
        with pytest.raises(OneByOneError, match="64") as caught:
            program(torch.randn(1, 3, 96, 96))  # the export rejects it: so must the rewrite
        assert caught.value.__cause__ is not None


class SecondName(nn.Module):
    """`y += 1` through a second name of x: eager adds to x, torch.fx records a new tensor."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(4, 3, 1), nn.Conv2d(4, 5, 1)

    def forward(self, x):
        x = x * 1
        a, y = self.a(x), x
        y += 1
        return torch.cat([a, self.b(x)], 1)


def test_a_graph_that_is_not_the_model_is_refused():
    with pytest.raises(OneByOneError, match="traces faithfully; its graph differs"):
        onebyone.optimize(SecondName().eval(), (1, 4, 5, 5), speed=False)
