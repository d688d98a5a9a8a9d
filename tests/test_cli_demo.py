"""The demo and the CLI's error contract."""
import pytest

from onebyone.cli import main
from onebyone.cli.demo import formulations_agree


def test_demo_formulations_agree(capsys):
    assert formulations_agree(seed=3) < 1e-12
    out = capsys.readouterr().out
    assert "All 5 formulations agree" in out


def test_cli_demo_runs_the_main_job(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--model", "squeezenet1_1"])  # the smallest model keeps the test quick
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "All 5 formulations agree" in out
    assert "squeezenet1_1 optimized" in out and "kept" in out and "speed:" in out


def test_unknown_verb_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["no-such-verb"])
    assert info.value.code == 2


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, onebyone; print('torch' in sys.modules, 'torchvision' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]
