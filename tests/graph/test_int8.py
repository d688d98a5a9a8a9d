"""optimize(precision="int8"): the budget, the per-layer fallback, int8 only when asked, the
artifact re-verified within the budget, and bad input (one error, CLI exit 2, nothing written)."""
import importlib
import os

import numpy as np
import onnx

import pytest
import torch
from graph_toys import randomize_bn
from torch import nn

import onebyone
from onebyone.cli import main
from onebyone.errors import OneByOneError
from onebyone.graph import engines
from onebyone.graph.engines.base import Signature
from onebyone.graph.engines.export import onnx_bytes
from onebyone.graph.int8 import Budget
from onebyone.graph.int8.quantize import Quantizer, int8_layers
from onebyone.graph.int8.render import lines
from onebyone.graph.int8.search import search
from onebyone.graph.int8.select import _verified
from onebyone.graph.settings import denormals_flushed

SHAPE = (1, 3, 8, 8)


def dead_channel_toy():
    """Three 1x1 convs; the middle one quantizes badly: its weights from input channel 0 are
    1000x the others, and channel 0 is always 0 (a dead ReLU channel). In float the huge
    weights add nothing; in int8 they set every output channel's weight scale, and the
    weights that matter round to zero."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 16, 1), nn.ReLU(), nn.Conv2d(16, 16, 1), nn.ReLU(),
                          nn.Conv2d(16, 8, 1)).eval()
    with torch.no_grad():
        model[0].weight[0] = 0
        model[0].bias[0] = -1
        model[2].weight[:, 0] = 1000
    return model


@pytest.fixture(scope="module", params=["onnxruntime", "openvino"])
def toy_search(request):
    """The toy quantized, its layers searched in each int8 engine against a 1e-1 budget."""
    model = dead_channel_toy()
    gen = torch.Generator().manual_seed(1)
    calib = [(torch.randn(SHAPE, generator=gen),) for _ in range(8)]
    held = [(torch.randn(SHAPE, generator=gen),) for _ in range(4)]
    example = (torch.randn(SHAPE, generator=gen),)
    with torch.no_grad():
        reference = [model(*x) for x in held]
    signature = Signature.of(example, model(*example))
    quantizer = Quantizer(onnx_bytes(model, example), calib)
    budget = Budget(0.1)

    def evaluate(data):
        engine = engines.from_onnx(request.param, data, signature)
        with denormals_flushed():
            return engine, [engine(*x) for x in held]

    found = search(quantizer, evaluate, lambda out: budget.judge(reference, out))
    return {"target": request.param, "model": model, "quantizer": quantizer, "found": found, "held": held,
            "reference": reference, "budget": budget, "evaluate": evaluate}


def test_the_layer_that_quantizes_badly_is_kept_float_and_only_it(toy_search):
    q, found = toy_search["quantizer"], toy_search["found"]
    first, middle, last = (layer["node"] for layer in q.layers)
    all_int8 = toy_search["evaluate"](q())[1]
    assert not toy_search["budget"].judge(toy_search["reference"], all_int8)["met"]  # the toy bites
    kept = [k["node"] for k in found["kept_float"]]
    assert found["met"] and kept[0] == middle  # measured costliest, so kept float first
    assert found["verdict"]["error"] <= toy_search["budget"].relative
    assert int8_layers(found["data"]) == {first, middle, last} - set(kept)  # read from the graph
    if toy_search["target"] == "openvino":
        assert kept == [middle]
    else:  # onnxruntime's optimizer runs the float conv between two QDQ tensors in int8 anyway
        # (measured): the layer after it goes float too, and the first stays int8
        assert kept == [middle, last]
    # the ranking measured every int8 layer once, plus the two reduce_range variants and a
    # build per step kept float
    assert found["builds"] == 2 + 3 + len(kept)


def test_an_int8_artifact_is_saved_reloaded_and_rechecked_within_the_budget(toy_search, tmp_path):
    found = toy_search["found"]
    _verified(found, toy_search["held"], toy_search["reference"], toy_search["budget"])
    engine = found["engine"]
    path = engine.save(str(tmp_path / f"int8{engine.suffixes[0]}"))
    again = engines.load(path)
    if engine.target == "onnxruntime":
        assert int8_layers(again.data) == int8_layers(found["data"])
    else:  # OpenVINO reads each QDQ pair as one FakeQuantize: one per quantized tensor
        ops = [op.get_type_name() for op in again.model.get_ops()]
        qdq = [n.op_type for n in onnx.load_from_string(found["data"]).graph.node]
        assert ops.count("FakeQuantize") + ops.count("Convert") >= qdq.count("QuantizeLinear") > 0
    with denormals_flushed():
        got = [again(*x) for x in toy_search["held"]]
    assert toy_search["budget"].judge(toy_search["reference"], got)["met"]


def test_a_budget_is_a_number_or_a_callable(toy_search):
    ref, held = toy_search["reference"], toy_search["held"]
    out = toy_search["evaluate"](toy_search["found"]["data"])[1]
    error = Budget().judge(ref, out)["error"]
    assert error > 0
    assert Budget(error * 2).judge(ref, out)["met"] and not Budget(error / 2).judge(ref, out)["met"]
    seen = []
    assert not Budget(lambda r, c: seen.append((len(r), len(c))) or False).judge(ref, out)["met"]
    assert seen == [(len(held), len(held))]
    for bad in ("0.05", float("nan"), -1.0, 0, True):
        with pytest.raises(onebyone.OneByOneError, match="budget"):
            Budget(bad)
    with pytest.raises(onebyone.OneByOneError, match="return True or False"):
        Budget(lambda r, c: "yes").judge(ref, out)
    with pytest.raises(onebyone.OneByOneError, match="raised ZeroDivisionError"):
        Budget(lambda r, c: 1 / 0).judge(ref, out)


def test_nan_in_the_int8_output_misses_the_budget(toy_search):
    ref = toy_search["reference"]
    out = [r.clone() for r in ref]
    out[0].view(-1)[3] = float("nan")
    verdict = Budget(1e9).judge(ref, out)
    assert not verdict["met"] and verdict["error"] == float("inf")


def int8_twice_as_fast(models, *args, **kwargs):
    """A scripted time_models for int8's race: every int8 engine 0.5 ms, the rest 1 ms."""
    return {k: 0.5e-3 if k.startswith("int8") else 1e-3 for k in models}


def small_net():
    torch.manual_seed(0)
    return randomize_bn(nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.ReLU(),
                                      nn.Conv2d(16, 8, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()))


@pytest.fixture(scope="module")
def int8_run():
    model = small_net()
    result, report = onebyone.optimize(model, SHAPE, target="onnxruntime", precision="int8", runs=3)
    return model, result, report


def test_int8_reports_every_layer_with_its_reason_and_times_both(int8_run):
    model, result, report = int8_run
    r8 = report["int8"]
    assert "random" in r8["calibration"] and "random" in r8["held_out"]  # said in words
    assert [layer["kind"] for layer in r8["layers"]] == ["conv", "pointwise"]
    assert all(layer["why"] for layer in r8["layers"])
    macs = [layer["macs"] for layer in r8["layers"]]
    share = sum(m for m, layer in zip(macs, r8["layers"]) if layer["precision"] == "int8") / sum(macs)
    assert r8["int8_macs_share"] == pytest.approx(share)
    t = r8["targets"]["onnxruntime"]
    assert t["float_ms"] > 0 and (t["int8_ms"] is None) == (not t["met"])
    assert report["precision"] == r8["returned"] and report["target"] == "onnxruntime"
    is_int8 = bool(int8_layers(result.data))
    assert is_int8 == (report["precision"] == "int8")
    if is_int8:  # verified within the budget, and the report says so
        assert report["tolerance"] == Budget().relative and report["error"] <= report["tolerance"]
    else:
        assert report["error"] <= 1e-4  # the float engine keeps the exact proof


def test_int8_is_never_chosen_without_precision_int8():
    model = small_net()
    result, report = onebyone.optimize(model, SHAPE, target=["onnxruntime", "openvino"], runs=3)
    assert report["precision"] == "fp32" and "int8" not in report
    if report["target"] == "onnxruntime":
        assert not int8_layers(result.data)
    assert report["error"] <= report["tolerance"] == 1e-4


@pytest.mark.parametrize("kwargs, match", [
    ({"target": "torch", "precision": "int8"}, "int8 support"),
    ({"target": "compile", "precision": "int8"}, "int8 support"),
    ({"target": "onnxruntime", "precision": "int4"}, "precision"),
    ({"target": "onnxruntime", "precision": "int8", "budget": "tight"}, "budget"),
    ({"target": "onnxruntime", "precision": "int8", "calibration": [torch.randn(1, 3, 9, 9)]},
     "like the example"),
    ({"target": "onnxruntime", "precision": "int8", "calibration": []}, "empty"),
])
def test_bad_int8_input_is_one_error_before_any_work(kwargs, match):
    model = small_net()
    with pytest.raises(onebyone.OneByOneError, match=match):
        onebyone.optimize(model, SHAPE, progress=lambda step: pytest.fail(f"work started: {step}"),
                          **kwargs)


@pytest.mark.parametrize("args, match", [
    (["-o", "{d}/m.pt", "--int8"], "int8 support"),
    (["-o", "{d}/m.onnx", "--int8", "--budget", "tight"], "--budget a number"),
    (["-o", "{d}/m.onnx", "--int8", "--budget", "nan"], "budget"),
    (["-o", "{d}/m.onnx", "--budget", "0.1"], "--int8 with --budget"),
    (["-o", "{d}/m.onnx", "--int8", "--mean", "a,b"], "--mean"),
    (["-o", "{d}/m.onnx", "--int8", "--calibration", "{d}/missing"], "calibration"),
])
def test_bad_int8_flags_are_one_line_exit_2_and_nothing_written(tmp_path, args, match, capsys):
    args = [a.format(d=tmp_path) for a in args]
    with pytest.raises(SystemExit) as exit:
        main(["optimize", "resnet18", "--input", "1,3,16,16", *args])
    out = capsys.readouterr()
    assert exit.value.code == 2 and match in out.err and len(out.err.strip().splitlines()) == 1
    assert "Traceback" not in out.err + out.out
    assert os.listdir(tmp_path) == []


def test_int8_is_built_when_the_plain_engine_won_the_fp32_race(monkeypatch):
    """targets.fastest returns no graph when the original model's engine is fastest; int8 then
    quantizes the passes' graph (it crashed on None: which fp32 engine won is a timing)."""
    from onebyone.graph import targets

    real = targets.time_models

    def plain_first(candidates, *args, **kwargs):
        times = real(candidates, *args, **kwargs)
        return {key: t / 1e3 if isinstance(key, tuple) else t for key, t in times.items()}

    monkeypatch.setattr(targets, "time_models", plain_first)
    result, report = onebyone.optimize(small_net(), SHAPE, target="onnxruntime", precision="int8",
                                       runs=3)
    assert report["plain"]["onnxruntime"]["ms"] < report["targets"]["onnxruntime"]["ms"]
    assert [layer["kind"] for layer in report["int8"]["layers"]] == ["conv", "pointwise"]
    assert report["precision"] == report["int8"]["returned"]
    assert bool(int8_layers(result.data)) == (report["precision"] == "int8")


@pytest.mark.parametrize("toy_search", ["onnxruntime"], indirect=True)  # one QDQ file is enough
def test_inspect_says_which_pointwise_layers_of_an_int8_file_run_int8(toy_search, tmp_path, capsys):
    found, q = toy_search["found"], toy_search["quantizer"]
    path = tmp_path / "int8.onnx"
    path.write_bytes(found["data"])
    rows = onebyone.inspect(str(path), SHAPE).rows
    by_node = {layer["module"]: layer["node"] for layer in q.layers}
    int8 = int8_layers(found["data"])
    assert [r["module"] for r in rows] == list(by_node)  # named like the model's modules
    assert [r["precision"] for r in rows] == ["int8" if by_node[r["module"]] in int8 else "float"
                                              for r in rows]
    assert {r["precision"] for r in rows} == {"int8", "float"}
    with pytest.raises(SystemExit) as exit:
        main(["inspect", str(path), "--input", ",".join(map(str, SHAPE))])
    out = capsys.readouterr().out
    assert exit.value.code == 0 and f"int8: {len(int8)} of {len(rows)} pointwise layers" in out


def test_cli_int8_writes_the_artifact_and_says_per_layer_what_ran_int8(tmp_path):
    from graph_toys import run

    model_path = tmp_path / "net.pt"
    torch.save(small_net(), model_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    calib = tmp_path / "calib.npy"
    np.save(calib, np.random.default_rng(0).standard_normal((8, *SHAPE[1:]), dtype=np.float32))
    text = run("optimize", str(model_path), "-o", str(out_dir / "net.onnx"), "--input",
               ",".join(map(str, SHAPE)), "--int8", "--calibration", str(calib), "--runs", "3")
    text = " ".join(text.split())  # the console wraps long lines at its width
    assert os.listdir(out_dir) == ["net.onnx"]
    assert "int8 calibrated on the first 6 of 8 inputs from" in text  # the last 2 judge the budget
    assert "the last 2 of the 8 inputs given" in text
    assert "int8: every pointwise layer" in text and "returned " in text
    saved = engines.load(out_dir / "net.onnx")
    if int8_layers(saved.data):  # int8 won the interleaved race: the saved line says how it was proven
        assert "(int8): re-loaded and reproduces the model within the int8 budget" in text
    else:
        assert "(fp32): re-loaded and reproduces the model within 1e-04" in text


def test_the_saved_line_names_the_inputs_the_budget_was_judged_on(tmp_path, monkeypatch):
    """One calibration input is also the only held-out input: the saved line said "on the
    held-out inputs" all the same."""
    from graph_toys import run

    select = importlib.import_module("onebyone.graph.int8.select")
    monkeypatch.setattr(select, "time_models", int8_twice_as_fast)  # int8 returned
    model_path, calib = tmp_path / "net.pt", tmp_path / "one.npy"
    torch.save(small_net(), model_path)
    np.save(calib, np.random.default_rng(0).standard_normal(SHAPE, dtype=np.float32))
    text = run("optimize", str(model_path), "-o", str(tmp_path / "net.onnx"), "--input",
               ",".join(map(str, SHAPE)), "--int8", "--calibration", str(calib), "--budget", "1",
               "--runs", "2")
    text = " ".join(text.split())  # the console wraps long lines at its width
    assert "(int8): re-loaded and reproduces the model within the int8 budget" in text
    assert "on the one calibration input (no other was given))" in text
    assert "on the held-out inputs)" not in text


@pytest.mark.parametrize("target,extra", [("onnxruntime", "onnx"), ("openvino", "openvino")])
def test_a_missing_int8_engine_names_its_own_extra(target, extra, monkeypatch):
    import importlib
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("onnxruntime", "openvino") else real(name, *a))
    plan = {"targets": [target], "budget": None, "calibration": None, "held_out": None, "words": None}
    select = importlib.import_module("onebyone.graph.int8.select").select
    with pytest.raises(onebyone.OneByOneError, match=rf"the {target} package .* 'onebyone\[{extra}\]'"):
        select(None, None, None, plan, None)


def test_a_close_first_timing_is_decided_head_to_head(monkeypatch):
    """int8 3-10% ahead in the first interleaved run is within this machine's noise: fp32 and
    int8 run again, head to head, and that decides (int8 was returned on a first-run tie)."""
    # the module, not the function onebyone.graph.int8 exports under the same name
    select = importlib.import_module("onebyone.graph.int8.select")
    calls = []

    def scripted(models, example, runs=7, **kwargs):
        calls.append(sorted(models))
        # first run: int8 5% ahead of every fp32 engine; head to head: fp32 ahead
        first = len(calls) == 1
        return {k: (3e-3 if first else 2e-3) if k == "model" else
                (0.95e-3 if first else 1.2e-3) if k.startswith("int8") else 1e-3 for k in models}

    monkeypatch.setattr(select, "time_models", scripted)
    _, report = onebyone.optimize(small_net(), SHAPE, target="onnxruntime", precision="int8",
                                  budget=lambda floats, int8s: True, runs=2)
    int8 = report["int8"]
    # the model itself rides along in every run, never a candidate: the speedup is the deciding run's
    assert len(calls) == 2 and calls[1] == ["fp32 onnxruntime", "int8 onnxruntime", "model"]
    assert int8["final_ms"] == {"fp32 onnxruntime": 1.0, "int8 onnxruntime": 1.2}
    assert report["speed"].to_dict() == {"before_ms": 2.0, "after_ms": 1.0, "speedup": 2.0,
                                         "runs": 4, "denormals": "flushed"}  # the second run's
    assert int8["returned"] == report["precision"] == "fp32"
    assert "1.20 ms" in int8["why"] and "timed again head to head" in "\n".join(lines(int8))


def test_a_clear_first_timing_is_not_timed_again(monkeypatch):
    # the module, not the function onebyone.graph.int8 exports under the same name
    select = importlib.import_module("onebyone.graph.int8.select")
    calls = []

    def scripted(models, example, runs=7, **kwargs):
        calls.append(sorted(models))
        return int8_twice_as_fast(models)

    monkeypatch.setattr(select, "time_models", scripted)
    _, report = onebyone.optimize(small_net(), SHAPE, target="onnxruntime", precision="int8",
                                  budget=lambda floats, int8s: True, runs=2)
    assert len(calls) == 1 and "final_ms" not in report["int8"]
    assert report["int8"]["returned"] == report["precision"] == "int8"


def test_a_users_metric_never_passes_nan_or_inf_where_the_float_model_is_finite():
    """A metric may read a NaN row as right (torch's argmax takes NaN as the largest); the
    proof's rule holds under any budget: non-finite where the float model is finite misses."""
    reference = [torch.tensor([[1.0, 3.0]])]
    always = Budget(lambda floats, int8s: True)
    for bad in (float("nan"), float("inf")):
        verdict = always.judge(reference, [torch.tensor([[bad, 3.0]])])
        assert verdict["met"] is False and verdict["error"] == float("inf"), verdict
    assert always.judge(reference, [torch.tensor([[1.01, 3.0]])])["met"] is True

    class Holder:
        verified = None

    candidate = {"verdict": always.judge(reference, [torch.tensor([[float("nan"), 3.0]])]),
                 "engine": Holder()}
    _verified(candidate, [], reference, always)
    assert candidate["engine"].verified["tolerance"] == 0.0  # was inf: save's re-check passed anything


def test_held_out_inputs_that_also_calibrate_are_said_in_words():
    """Given separately, the held-out set can repeat the calibration set: the words called it held
    out all the same, and a budget judged on it is judged on what int8 was fitted to."""
    from onebyone.graph.int8.samples import split

    data = [torch.randn(*SHAPE, generator=torch.Generator().manual_seed(i)) for i in range(6)]
    _, held, words = split(data, data[4:] + [torch.zeros(SHAPE)], (torch.zeros(SHAPE),))
    assert len(held) == 3 and words["held_out"].endswith(
        "; 2 of their 3 samples also calibrate, so the budget is judged partly on inputs int8 "
        "was fitted to")
    # given as one tensor of 4 samples rather than a list, two of them shared
    four = torch.cat([data[5], torch.ones(SHAPE), data[0], torch.zeros(SHAPE)])
    _, _, batched = split(torch.cat(data), four, (torch.zeros(SHAPE),))
    assert "2 of their 4 samples also calibrate" in batched["held_out"]
    _, _, fresh = split(data, [torch.zeros(SHAPE)], (torch.zeros(SHAPE),))
    assert "also calibrate" not in fresh["held_out"]


def test_int8_on_a_target_whose_float_rewrite_was_dropped(monkeypatch):
    """int8 may win on a target whose fp32 candidate did not verify: the report read that
    target's fp32 error and crashed (KeyError) instead of giving the int8 engine's own proof."""
    targets = importlib.import_module("onebyone.graph.targets")
    select = importlib.import_module("onebyone.graph.int8.select")
    real = targets.for_target

    def for_target(target, *args, **kwargs):
        if target == "onnxruntime":
            raise OneByOneError("the rewritten graph does not verify on onnxruntime (scripted)")
        return real(target, *args, **kwargs)

    monkeypatch.setattr(targets, "for_target", for_target)
    monkeypatch.setattr(select, "time_models", int8_twice_as_fast)
    result, report = onebyone.optimize(small_net(), SHAPE, target=["torch", "onnxruntime"],
                                       precision="int8", budget=1.0, runs=2)
    assert "dropped" in report["targets"]["onnxruntime"]
    assert (report["precision"], report["target"]) == ("int8", "onnxruntime")
    assert report["error"] == result.verified["error"] <= report["tolerance"] == 1.0


def test_a_model_in_training_mode_is_said_before_the_calibration_data_is_read(tmp_path):
    with pytest.raises(OneByOneError, match="eval mode"):
        onebyone.optimize(small_net().train(), SHAPE, target="onnxruntime", precision="int8",
                          calibration=tmp_path / "missing")
