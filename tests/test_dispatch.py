"""The op flows one way, and a method name means one piece of code wherever it is asked for."""
import ast
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import onebyone
from onebyone import _methods, core, dispatch, gemm_torch, tuning_cache
from onebyone._validate import METHODS, validate

SRC = Path(onebyone.__file__).parent
# The op's modules below core: none of them may import core (or anything that imports it).
BELOW_CORE = ["dispatch", "_methods", "formulations", "gemm_torch", "tuning_cache", "_validate",
              "_arrays", "_checks", "_files", "timing", "errors"]


def _imported_modules(name):
    """The onebyone modules a module imports, at top level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse((SRC / f"{name}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:  # from . import x / from .x import y
            found |= {node.module} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("onebyone"):
            found.add(node.module.removeprefix("onebyone.") or "__init__")
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("onebyone.") for a in node.names if a.name.startswith("onebyone")}
    return found


@pytest.mark.parametrize("name", BELOW_CORE)
def test_modules_below_core_never_import_upwards(name):
    above = {"core", "nn", "__init__", "onebyone", "graph", "blocks", "explanation", "bench", "cli"}
    assert not _imported_modules(name) & above, f"{name} imports {_imported_modules(name) & above}"


def test_auto_candidates_are_method_names_a_user_can_pass():
    cases = [(torch.randn(1, 4, 3, 3), torch.randn(2, 4)),
             (torch.randn(1, 4, 3, 3).half(), torch.randn(2, 4).half()),
             (np.ones((1, 4, 3, 3)), np.ones((2, 4)))]
    for x, w in cases:
        names = dispatch.eligible(validate(x, w, None, 1, 0, 1), x)
        assert names and set(names) <= set(METHODS) - {"auto"}


@pytest.mark.parametrize("grad", [False, True])
def test_gemm_means_the_same_code_for_the_user_and_for_auto(monkeypatch, grad):
    """method="gemm" and auto's "gemm" both run gemm_torch where it applies; the spec elsewhere."""
    calls = []
    real = gemm_torch.gemm_for
    monkeypatch.setattr(gemm_torch, "gemm_for", lambda *a: calls.append(a) or real(*a))
    x = torch.randn(1, 8, 4, 4, requires_grad=grad)
    w = torch.randn(4, 8, 1, 1, requires_grad=grad)
    expected = torch.nn.functional.conv2d(x, w)
    torch.testing.assert_close(onebyone.conv1x1(x, w, method="gemm"), expected)
    assert len(calls) == 1
    call = validate(x, w, None, 1, 0, 1)
    tuning_cache.store(dispatch.key(call, x, grad), "gemm")  # as if tune() had picked it
    core.forget_plans()
    torch.testing.assert_close(onebyone.conv1x1(x, w), expected)
    assert len(calls) == 2
    # groups=2: the GEMM path does not apply, so "gemm" is the generic formulation, still exact.
    torch.testing.assert_close(onebyone.conv1x1(x, w[:, :4], groups=2, method="gemm"),
                               torch.nn.functional.conv2d(x, w[:, :4], groups=2))
    assert len(calls) == 2


@pytest.mark.parametrize("name", ["torch", "gemm"])
def test_auto_runs_a_candidate_through_the_same_door_as_the_user(monkeypatch, name):
    asked = []
    real = _methods.runner
    monkeypatch.setattr(_methods, "runner", lambda method, *a: asked.append(method) or real(method, *a))
    x, w = torch.randn(1, 8, 4, 4), torch.randn(4, 8)
    tuning_cache.store(dispatch.key(validate(x, w, None, 1, 0, 1), x, False), name)
    mine, auto = onebyone.conv1x1(x, w, method=name), onebyone.conv1x1(x, w)
    assert asked == [name, name]
    torch.testing.assert_close(mine, auto, rtol=0, atol=0)


@pytest.mark.parametrize("stale", ["conv", "numpy_gemm", ["gemm"], {"winner": "gemm"}, 3])
def test_stale_or_odd_cache_entries_are_ignored(stale, tmp_path, monkeypatch):
    """A cache written by an older version (candidate "conv") or hand-edited must not crash."""
    x, w = torch.randn(1, 8, 4, 4), torch.randn(4, 8)
    call = validate(x, w, None, 1, 0, 1)
    k = dispatch.key(call, x, False)
    (tmp_path / "tuning.json").write_text(json.dumps({tuning_cache.machine(): {k: stale}}))
    tuning_cache.reset()
    assert dispatch.choose(call, x, False) == dispatch.rule(call, x, False)
    torch.testing.assert_close(onebyone.conv1x1(x, w), torch.nn.functional.conv2d(x, w[:, :, None, None]))
    monkeypatch.setenv("ONEBYONE_TUNE", "1")  # tuning again replaces the stale entry
    core.forget_plans()
    onebyone.conv1x1(x, w)
    entries = json.loads((tmp_path / "tuning.json").read_text())[tuning_cache.machine()]
    assert entries[k] in ("torch", "gemm")


def test_tune_forgets_plans_and_the_store_leaves_one_whole_file(tmp_path):
    x, w = torch.randn(1, 8, 4, 4), torch.randn(4, 8)
    before = core.plan(x, w)
    result = onebyone.tune(x, w, budget_s=0.01)
    assert core.plan(x, w) is not before
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["tuning.json"]
    assert json.loads((tmp_path / "tuning.json").read_text())[tuning_cache.machine()] == {
        result["key"]: result["winner"]}


def test_onebyone_tune_is_core_tune():
    assert onebyone.tune is core.tune
