"""The CLI outside explain: tables at the terminal's real width (80 columns readable, no number
cut), one line and exit 2 for every bad file, path or missing extra."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from onebyone.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(args, columns):
    """The installed command through a pipe (not a terminal), as `onebyone ... | less` runs it."""
    env = {**os.environ, "COLUMNS": str(columns)}
    command = Path(sys.executable).parent / "onebyone"  # the entry point beside this Python
    return subprocess.run([str(command), *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def squeezenet_json():
    # what `inspect --json` prints, from the library in this process (the pipe is the test's
    # subject, not the JSON: tests/graph/test_graph_cli.py and ..._exporters.py read --json)
    from onebyone.graph import inspect
    from onebyone.graph.render import to_json

    return json.loads(to_json(inspect("squeezenet1_1")))


@pytest.mark.parametrize("columns", [80, 200])
def test_inspect_through_a_pipe_uses_the_given_width_and_cuts_no_number(columns, squeezenet_json):
    done = run_cli(["inspect", "squeezenet1_1"], columns)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(map(len, lines)) <= columns  # the old code forced 150 columns on a pipe
    assert "…" not in done.stdout
    text = done.stdout
    for row in squeezenet_json["rows"]:  # every row's name and numbers, whole
        for cell in (row["module"], f"{row['cin']} -> {row['cout']}", "x".join(map(str, row["output"])),
                     f"{100 * row['macs_share']:.1f}", row["role"]):
            assert re.search(rf"(?<![\w.]){re.escape(cell)}(?![\w.])", text), cell
    if columns == 200:
        assert "┃ module" in text  # wide enough: one table, not stacked paragraphs


@pytest.fixture()
def bad_files(tmp_path):
    files = {}
    for name in ("bad.pt2", "bad.onnx", "bad.pt"):
        files[name] = tmp_path / name
        files[name].write_text("garbage\n")
    files["dir.pt"] = tmp_path / "dir.pt"
    files["dir.pt"].mkdir()
    model = nn.Sequential(nn.Conv2d(3, 4, 1))
    program = torch.export.export(model, (torch.randn(1, 3, 8, 8),))
    good = tmp_path / "good.pt2"
    torch.export.save(program, good)
    files["truncated.pt2"] = tmp_path / "truncated.pt2"
    files["truncated.pt2"].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.warns(FutureWarning):  # TorchScript is deprecated; still a format users have
        files["script.pt"] = tmp_path / "script.pt"
        torch.jit.save(torch.jit.script(model), files["script.pt"])
    return files


def one_line_exit_2(capfd, args):
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capfd.readouterr()
    assert info.value.code == 2
    assert "Traceback" not in out + err
    assert err.startswith("onebyone: error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("name", ["bad.pt2", "truncated.pt2", "bad.onnx", "bad.pt", "dir.pt"])
@pytest.mark.parametrize("verb", ["inspect", "optimize"])
def test_a_bad_model_file_is_one_line(verb, name, bad_files, capfd, tmp_path):
    args = [verb, str(bad_files[name])] + (["-o", str(tmp_path / "out.pt")] if verb == "optimize" else [])
    err = one_line_exit_2(capfd, args)
    assert "expected a model file" in err and f"could not read {str(bad_files[name])!r}" in err


@pytest.mark.parametrize("name", ["bad.onnx", "script.pt"])
def test_onnx_and_torchscript_without_the_onnx_extra(name, bad_files, capfd, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now fails as if not installed
    err = one_line_exit_2(capfd, ["inspect", str(bad_files[name])])
    assert "pip install 'onebyone[onnx]'" in err


@pytest.mark.parametrize("plot, expected", [
    ("missing-dir/macs.png", "expected --plot in an existing, writable directory"),
    ("macs.txt", "expected --plot to name a .png file"),
])
def test_bad_plot_path_is_one_line_before_any_work(plot, expected, capfd, tmp_path, monkeypatch):
    import onebyone.graph

    monkeypatch.setattr(onebyone.graph, "inspect", lambda *a: pytest.fail("worked before checking --plot"))
    err = one_line_exit_2(capfd, ["inspect", "squeezenet1_1", "--plot", str(tmp_path / plot)])
    assert expected in err
    assert not (tmp_path / plot).exists()


def test_readme_says_how_to_run_the_cli_after_make_demo():
    """The README's commands are the ones the Makefile makes true."""
    readme, makefile = (ROOT / "README.md").read_text(), (ROOT / "Makefile").read_text()
    venv = re.search(r"^VENV := (\S+)$", makefile, re.M).group(1)
    demo = re.search(r"^demo: .*\n\t(.+)$", makefile, re.M).group(1)
    assert demo.replace("$(VENV)", venv).startswith(f"{venv}/bin/onebyone ")
    assert f"{venv}/bin/onebyone --help" in readme and f"source {venv}/bin/activate" in readme
    installed = re.search(r"^\$\(VENV\)/\.installed:.*\n\t\$\(PIP\) (.+)$", makefile, re.M).group(1)
    assert installed == "-e ."  # the base package only, so the README must name the extra
    assert "-e '.[onnx]'" in readme and "onnx = [" in (ROOT / "pyproject.toml").read_text()


def test_optimize_through_a_pipe_at_80_columns(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8), nn.Conv2d(8, 8, 1), nn.ReLU(),
                          nn.Conv2d(8, 4, 1)).eval()
    torch.save(model, tmp_path / "small.pt")
    args = ["optimize", str(tmp_path / "small.pt"), "--input", "1,3,8,8"]
    # timed, so the per-target line is printed too; it and the "saved" line once spilled past 80
    table = run_cli(args + ["--runs", "1", "-o", str(tmp_path / "a.pt")], 80)
    report = run_cli(args + ["--no-speed", "-o", str(tmp_path / "b.pt"), "--json"], 80)
    assert table.returncode == 0 and report.returncode == 0, table.stderr + report.stderr
    # the marker ends a long line, so at 80 columns it may wrap between "<-" and "chosen"
    assert "<- chosen" in " ".join(table.stdout.split()) and "saved " in table.stdout
    assert max(map(len, table.stdout.splitlines())) <= 80 and "…" not in table.stdout
    for p in json.loads(report.stdout)["passes"]:
        assert re.search(rf"{re.escape(p['pass'])}\b.*?\b{p['changed']}\b", table.stdout, re.S), p["pass"]
