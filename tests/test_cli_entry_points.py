"""One set of entry points: output paths are checked before any work, and benchmarks/*.py are
shims over `onebyone bench` (the same options, the same files)."""
import csv
import subprocess
import sys
from pathlib import Path

import pytest

from onebyone.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _no_work(*args, **kwargs):
    raise AssertionError("the work started before the output path was checked")


@pytest.mark.parametrize("args, target", [
    (["optimize", "resnet18", "-o", "{bad}/x.pt"], "onebyone.graph.optimize"),
    (["inspect", "resnet18", "--plot", "{bad}/m.png"], "onebyone.graph.inspect"),
    (["explain", "28x28x192", "--filters", "32", "--html", "{bad}/x.html"],
     "onebyone.explanation.explain"),
])
def test_output_paths_are_checked_before_the_work(args, target, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(target, _no_work)
    bad = tmp_path / "missing"
    with pytest.raises(SystemExit) as info:
        main([a.format(bad=bad) for a in args])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "writable directory" in err and len(err.splitlines()) == 1


def test_bench_out_must_be_a_directory(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit) as info:
        main(["bench", "ops", "--out", str(tmp_path / "file"), "--limit", "1"])
    assert info.value.code == 2 and "--out" in capsys.readouterr().err


def test_benchmark_script_is_the_cli(tmp_path):
    out = tmp_path / "b"
    args = ["--model", "squeezenet1_1", "--limit", "1", "--batch", "1", "--budget", "0", "--out", str(out)]
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ops.py"), *args], check=True,
                   capture_output=True, text=True, cwd=tmp_path)
    with open(out / "ops.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    # One shape, batch 1, two memory formats, forward and forward+backward.
    assert len(rows) == 4 and {r["batch"] for r in rows} == {"1"}
    md = (out / "ops.md").read_text()
    assert f"Command: `onebyone bench ops --out {out} --model squeezenet1_1 --batch 1 --budget 0.0 " \
           f"--limit 1`" in md
    assert (out / "ops.png").read_bytes()[:4] == b"\x89PNG"
