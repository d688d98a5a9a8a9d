"""Engines: each target reproduces the original model inside the engine, keeps its output
structure, saves an artifact that re-loads to the same outputs, and rejects what it was not
built for. torch.compile tests are few: each compile costs 10-45 s here."""
import copy
import os
import warnings

import numpy as np
import pytest
import torch
from graph_toys import ATOL_SCALE, RTOL, randomize_bn, snapshot
from torch import nn

from onebyone import OneByOneError
from onebyone.graph import engines
from onebyone.graph.engines import base
from onebyone.graph import targets
from onebyone.graph.load import load
from onebyone.graph.settings import denormals_flushed, flush_denormal

FAST = ["torch", "onnxruntime", "openvino"]  # seconds each; compile has its own tests below
SUFFIX = {"torch": ".pt", "compile": ".pt2", "onnxruntime": ".onnx", "openvino": ".xml"}


class Heads(nn.Module):
    """Two inputs; a dict holding a tensor and a tuple: the structure must come back as is."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8)
        self.fc = nn.Linear(5, 2)

    def forward(self, x, y):
        z = self.bn(self.conv(x))
        return {"features": z, "heads": (z.mean((2, 3)), self.fc(y).sigmoid())}


@pytest.fixture(scope="module")
def mobilenet():
    model = randomize_bn(load("mobilenet_v2"))
    return model, (torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1)),)


@pytest.fixture(scope="module")
def heads():
    torch.manual_seed(0)
    return randomize_bn(Heads()), (torch.randn(1, 3, 6, 10), torch.randn(4, 5))


def fresh(example, seed=7):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(t.shape, generator=g) for t in example)


def assert_reproduces(engine, model, inputs):
    """The engine's result has the model's structure and values (each output on its scale)."""
    with torch.no_grad(), denormals_flushed():
        expected, got = model(*inputs), engine(*inputs)
    flat_e, spec_e = torch.utils._pytree.tree_flatten(expected)
    flat_g, spec_g = torch.utils._pytree.tree_flatten(got)
    assert spec_g == spec_e
    for g, e in zip(flat_g, flat_e):
        scale = max(float(e.abs().max()), 1e-30)
        torch.testing.assert_close(g, e, rtol=RTOL, atol=ATOL_SCALE * scale)


@pytest.mark.parametrize("target", FAST)
@pytest.mark.parametrize("which", ["mobilenet", "heads"])
def test_engine_reproduces_the_model_on_fresh_inputs(target, which, request):
    model, example = request.getfixturevalue(which)
    before = snapshot(model)
    engine = engines.build(target, model, example)
    assert engine.target == target and engine.warmup_s > 0
    assert engine.verified["error"] <= engine.verified["tolerance"]
    assert_reproduces(engine, model, fresh(example))
    assert_reproduces(engine, model, example)
    after = snapshot(model)
    assert after[1] == before[1] and all(torch.equal(after[0][k], v) for k, v in before[0].items())


@pytest.mark.parametrize("target", FAST)
def test_save_load_gives_the_same_outputs(target, heads, tmp_path):
    model, example = heads
    engine = engines.build(target, model, example)
    path = engine.save(tmp_path / f"m{SUFFIX[target]}")
    files = sorted(os.listdir(tmp_path))
    assert files == (["m.bin", "m.xml"] if target == "openvino" else [f"m{SUFFIX[target]}"])
    loaded = engines.load(path)
    assert loaded.target == target
    assert_reproduces(loaded, model, fresh(example))


@pytest.mark.parametrize("target", FAST)
def test_wrong_input_shape_or_dtype_is_one_clear_error(target, heads):
    model, (x, y) = heads
    engine = engines.build(target, model, (x, y))
    bad = [(x.double(), y), (x,)] + ([] if target == "torch" else [(x[:, :, :4], y)])
    for inputs in bad:
        with pytest.raises(OneByOneError, match=r"expected inputs like the example"):
            engine(*inputs)


def test_torch_engine_takes_other_sizes_of_the_same_rank(mobilenet):
    model, (x,) = mobilenet
    engine = engines.build("torch", model, (x,))
    assert_reproduces(engine, model, (torch.randn(2, 3, 48, 40),))


@pytest.mark.parametrize("target,extra", [("onnxruntime", "onnx"), ("openvino", "openvino")])
def test_missing_package_names_the_extra(target, extra, heads, monkeypatch):
    real = base.importlib.util.find_spec
    package = engines.TARGETS[target].package
    monkeypatch.setattr(base.importlib.util, "find_spec",
                        lambda name, *a: None if name == package else real(name, *a))
    assert target not in engines.available()
    with pytest.raises(OneByOneError, match=rf"pip install 'onebyone\[{extra}\]'"):
        engines.build(target, *heads)
    model, example = heads
    _, _, report = targets.fastest(["torch", target], model, (), None, example, model, runs=3)
    assert report["target"] == "torch" and extra in report["skipped"][target]


@pytest.mark.parametrize("flush_before", [False, True])
def test_torch_flush_denormal_setting_is_restored(flush_before, heads):
    torch.set_flush_denormal(flush_before)
    try:
        for target in FAST:
            engines.build(target, *heads)(*heads[1])
            assert flush_denormal() == flush_before
    finally:
        torch.set_flush_denormal(False)


class Broken(nn.Module):
    """Computes what Heads computes, except where told to be wrong (a NaN or a small shift)."""

    def __init__(self, model, how):
        super().__init__()
        self.model, self.how = model, how

    def forward(self, x, y):
        out = self.model(x, y)
        score = out["heads"][1]
        score = score + 1e-3 if self.how == "shift" else torch.where(score > 0.5, torch.nan, score)
        return {"features": out["features"], "heads": (out["heads"][0], score)}


@pytest.mark.parametrize("how", ["shift", "nan"])
@pytest.mark.parametrize("target", ["torch", "onnxruntime"])
def test_an_engine_that_differs_from_the_reference_is_refused(target, how, heads):
    model, example = heads
    # the sigmoid scores differ by 1e-3 beside features of scale ~3: judged on their own scale
    with pytest.raises(OneByOneError, match=r"output error is (inf|\d\.\d+e-0[1-4]) .*heads"):
        engines.build(target, Broken(copy.deepcopy(model), how), example, reference=model)


def test_save_checks_the_suffix_and_leaves_nothing_when_reverification_fails(heads, tmp_path, monkeypatch):
    engine = engines.build("onnxruntime", *heads)
    with pytest.raises(OneByOneError, match=r"expected a \.onnx path for the onnxruntime target"):
        engine.save(tmp_path / "m.xml")
    engine.verified = {**engine.verified, "reference": [{**r, "features": r["features"] + 1}
                                                        for r in engine.verified["reference"]]}
    with pytest.raises(OneByOneError, match=r"reproduce the model within"):
        engine.save(tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_load_rejects_unknown_suffixes_and_foreign_files(tmp_path):
    with pytest.raises(OneByOneError, match=r"expected an engine artifact"):
        engines.load(tmp_path / "m.h5")
    with pytest.raises(OneByOneError, match=r"no file at"):
        engines.load(tmp_path / "m.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(nn.ReLU(), (torch.zeros(2),), str(tmp_path / "foreign.onnx"), dynamo=False)
    with pytest.raises(OneByOneError, match=r"no onebyone signature"):
        engines.load(tmp_path / "foreign.onnx")
    with pytest.raises(OneByOneError, match=r"expected a target from"):
        engines.build("tensorrt", nn.ReLU(), (torch.zeros(2),))


def test_fastest_times_every_verified_target_and_keeps_the_fastest(heads):
    model, example = heads
    seen = []
    engine, graph, report = targets.fastest(FAST, model, (), None, example, model, runs=5,
                                            progress=seen.append)
    timed = report["targets"]
    assert sorted(timed) == sorted(FAST) and report["target"] == engine.target and graph is model
    best = min(t["ms"] for t in timed.values())
    finalists = {name: t for name, t in timed.items() if t["ms"] <= best * (1 + targets.CLOSE)}
    # the close ones were timed again, head to head, and the fastest there won
    decided = {name: t.get("final_ms", t["ms"]) for name, t in finalists.items()}
    assert engine.target in finalists and decided[engine.target] == min(decided.values())
    assert all(("final_ms" in t) == (name in finalists and len(finalists) > 1) for name, t in timed.items())
    assert all(t["error"] <= t["tolerance"] and t["warmup_s"] > 0 for t in timed.values())
    # one step per target, one for the timing, one more when finalists were timed again
    assert len(seen) == len(FAST) + 1 + (len(finalists) > 1), seen


class ThroughNumpy(nn.Module):
    """Runs in torch; an ONNX export records the NumPy detour as a constant, which the check
    on fresh random inputs must catch."""

    def forward(self, x):
        return torch.from_numpy(np.tanh(x.numpy())) * 2


def test_a_target_failing_to_build_or_verify_is_dropped_with_the_reason():
    model, example = ThroughNumpy(), (torch.randn(2, 3),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's warning about the NumPy call
        _, _, report = targets.fastest(["torch", "onnxruntime"], model, (), None, example, model, runs=3)
        assert report["target"] == "torch"
        assert "output error is" in report["targets"]["onnxruntime"]["dropped"]
        with pytest.raises(OneByOneError, match=r"at least one target.*onnxruntime: expected"):
            targets.fastest(["onnxruntime"], model, (), None, example, model, runs=3)


@pytest.mark.parametrize("with_ms,kept", [(80.0, True), (99.0, False), (120.0, False)])
def test_a_pass_stays_only_if_the_target_runs_faster_beyond_noise(with_ms, kept, heads, monkeypatch):
    model, example = heads
    candidate = copy.deepcopy(model)
    candidate.rewritten = True  # the torch engine runs a copy: tell it apart by this mark
    monkeypatch.setattr(targets, "time_models", lambda models, *a, **k: {
        name: (with_ms if hasattr(m.module, "rewritten") else 100.0) / 1e3
        for name, m in models.items()})
    applied = []

    def apply(graph, name):
        applied.append(name)
        return candidate if name == "swap" else None  # the other passes change nothing

    engine, graph, info = targets.for_target("torch", model, ("merge_parallel", "swap", "fold_bn"),
                                             apply, example, model)
    assert applied == ["merge_parallel", "swap"]  # fold_bn is not the target's to choose
    assert (graph is candidate) == kept and info["passes"] == (["swap"] if kept else [])
    assert info["trials"] == [{"pass": "swap", "with_ms": with_ms, "without_ms": 100.0, "kept": kept}]


def test_compile_reproduces_mobilenet_under_any_grad_mode(mobilenet):
    model, example = mobilenet
    engine = engines.build("compile", model, example)
    assert_reproduces(engine, model, fresh(example))
    with torch.inference_mode():  # other grad flags must not make dynamo recompile
        assert_reproduces(engine, model, example)
    with pytest.raises(OneByOneError, match=r"expected inputs like the example"):
        engine(torch.randn(1, 3, 32, 32))


def test_compile_keeps_the_structure_leaves_freezing_off_and_its_package_reloads(heads, tmp_path):
    import torch._inductor.config as inductor_config

    model, example = heads
    engine = engines.build("compile", model, example)
    assert inductor_config.freezing is False
    assert_reproduces(engine, model, fresh(example))
    loaded = engines.load(engine.save(tmp_path / "m.pt2"))
    assert os.listdir(tmp_path) == ["m.pt2"] and loaded.target == "compile"
    assert_reproduces(loaded, model, fresh(example, seed=8))
