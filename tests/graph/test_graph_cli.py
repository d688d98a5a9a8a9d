"""The inspect and optimize commands, and every kind of MODEL file they accept."""
import json
import os
import warnings

import pytest
import torch
from graph_toys import Siblings, assert_same_outputs, randomize_bn, run
from torch import nn

from onebyone.cli import main


def toy():
    return randomize_bn(nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.ReLU(),
                                      nn.Conv2d(16, 8, 1), nn.BatchNorm2d(8)))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d, model, x = tmp_path_factory.mktemp("models"), toy(), torch.randn(1, 3, 12, 12)
    torch.save(model, d / "pickled.pt")
    torch.export.save(torch.export.export(model, (x,)), d / "exported.pt2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript and its ONNX exporter are deprecated
        torch.jit.save(torch.jit.trace(model, x), d / "scripted.pt")
        torch.onnx.export(model, (x,), d / "model.onnx", dynamo=False)
    return d


@pytest.mark.parametrize("name", ["pickled.pt", "scripted.pt", "exported.pt2", "model.onnx"])
def test_inspect_reads_every_file_kind(files, name):
    out = json.loads(run("inspect", str(files / name), "--input", "1,3,12,12", "--json"))
    ((row,),) = [out["rows"]]
    assert (row["cin"], row["cout"], row["output"], row["macs"]) == (16, 8, [8, 10, 10], 16 * 8 * 100)


def test_inspect_table_and_plot(tmp_path):
    out = run("inspect", "squeezenet1_1", "--input", "1,3,64,64", "--plot", str(tmp_path / "m.png"))
    assert "classifier.1" in out and "head" in out and "1x1 convs:" in out
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    assert f"wrote {tmp_path / 'm.png'}" in out  # the user is told where the chart went


@pytest.mark.parametrize("name", ["pickled.pt", "exported.pt2"])
def test_optimize_saves_a_loadable_graph_module(files, tmp_path, name):
    out_path = tmp_path / "opt.pt"
    out = run("optimize", str(files / name), "-o", str(out_path), "--input", "1,3,12,12", "--no-speed")
    assert "fold_bn" in out and "saved" in out
    optimized, x = torch.load(out_path, weights_only=False), torch.randn(1, 3, 12, 12)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in optimized.modules())
    assert_same_outputs(torch.load(files / "pickled.pt", weights_only=False), optimized, x)
    assert [p for p in os.listdir(tmp_path) if p.startswith(".onebyone-")] == []  # no temp left


def test_optimize_json_report(files, tmp_path):
    torch.save(Siblings().eval(), tmp_path / "s.pt")
    report = json.loads(run("optimize", str(tmp_path / "s.pt"), "-o", str(tmp_path / "o.pt"),
                            "--input", "1,8,6,6", "--no-speed", "--json", "--passes", "merge_parallel"))
    assert report["passes"][0]["changed"] == 1 and report["speed"] is None


@pytest.mark.parametrize("args, message", [
    (["inspect", "no_such_model"], "torchvision"),
    (["optimize", "resnet18", "-o", "/no/such/dir/x.pt", "--input", "1,3,32,32", "--no-speed"], "writable directory"),
    (["optimize", "resnet18", "-o", "x.pt", "--passes", "fold_bn,nope"], "expected passes from"),
    (["inspect", "resnet18", "--input", "1,3,a"], "input shape"),
])
def test_user_errors_exit_2_with_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_optimize_refuses_torchscript(files, capsys, tmp_path):
    # (ONNX files are optimized: tests/graph/test_optimize_onnx.py)
    with pytest.raises(SystemExit):
        main(["optimize", str(files / "scripted.pt"), "-o", str(tmp_path / "x.pt"), "--input", "1,3,12,12"])
    assert "expected" in capsys.readouterr().err and not list(tmp_path.iterdir())
