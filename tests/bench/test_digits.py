"""The digits task that judges int8: a small MobileNet-style net trained on scikit-learn's digits."""
import importlib
import sys

import pytest
import torch

from onebyone import OneByOneError
from onebyone.bench import digits
from onebyone.blocks import DepthwiseSeparable, InvertedResidual, SqueezeExcitation
from onebyone.nn import Conv1x1

# Held-out accuracy of train(seed=0), measured here: 0.991 (446 of 450); seeds 1 and 2 gave
# 0.976 and 0.980. A net that learned nothing scores ~0.1; 0.95 leaves room for other machines.
FLOOR = 0.95


@pytest.fixture(scope="module")
def trained(digits_trained):
    return digits_trained  # train(seed=0), shared with test_int8_digits.py (conftest.py)


def test_the_trained_net_labels_held_out_digits(trained):
    model, split = trained
    assert not any(m.training for m in model.modules())
    assert split.x_test.shape[1:] == (1, digits.SIZE, digits.SIZE)
    assert len(split.y_test) == pytest.approx(0.25 * 1797, abs=1)
    assert digits.accuracy(model, split.x_test, split.y_test) >= FLOOR
    # whole, one at a time, or in 7s with the last chunk padded (an engine takes one batch
    # size only): the same labels
    x, y = split.x_test[:50], split.y_test[:50]
    whole = digits.accuracy(model, x, y)
    assert digits.accuracy(model, x, y, batch_size=1) == whole
    assert digits.accuracy(model, x, y, batch_size=7) == whole


def test_the_split_is_disjoint_and_stratified(trained):
    _, split = trained
    train_rows = {tuple(x.flatten().tolist()) for x in split.x_train}
    assert not any(tuple(x.flatten().tolist()) in train_rows for x in split.x_test[:100])
    counts = torch.bincount(split.y_test, minlength=10)
    assert counts.min() >= 0.9 * counts.float().mean()
    assert 0 <= split.x_train.min() and split.x_train.max() <= 1


def test_the_net_is_built_from_onebyone_blocks():
    model = digits.network()
    kinds = [type(m) for m in model.modules()]
    assert kinds.count(DepthwiseSeparable) == 1 and kinds.count(InvertedResidual) == 2
    assert kinds.count(SqueezeExcitation) == 2
    assert kinds.count(Conv1x1) == 10  # 1 + 2 x (expand, project) + 2 x (fc1, fc2) + head
    assert kinds.count(torch.nn.BatchNorm2d) == 10


def test_training_is_deterministic_and_leaves_torch_settings_as_found():
    threads, rng = torch.get_num_threads(), torch.random.get_rng_state()
    with torch.no_grad():
        first, _ = digits.train(seed=3, epochs=1)
        assert not torch.is_grad_enabled()
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), rng)
    again, _ = digits.train(seed=3, epochs=1)
    other, _ = digits.train(seed=4, epochs=1)
    a, b, c = first.state_dict(), again.state_dict(), other.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_without_scikit_learn_one_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(OneByOneError, match="pip install scikit-learn") as info:
        digits.data()
    assert isinstance(info.value.__cause__, ImportError)


@pytest.fixture(scope="module")
def judged(trained):
    pytest.importorskip("onnxruntime.quantization", reason="int8 needs the onnx extra")
    model, split = trained
    # Whether int8 pays is the benchmark's question (docs/benchmarks.md: onnxruntime's margin
    # ran from 1.8x to a loss, 0.92x, on the machines here), not this test's: the race is
    # scripted so int8 is returned, and its accuracy is checked on every machine.
    select = importlib.import_module("onebyone.graph.int8.select")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(select, "time_models", lambda models, example, runs=7, **kwargs: {
            k: 0.5e-3 if k.startswith("int8") else 1e-3 for k in models})
        return digits.int8_accuracy(model, split)


def test_int8_keeps_held_out_accuracy_within_one_point(trained, judged):
    int8 = judged["report"]["int8"]
    assert int8["met"], int8["targets"]  # the default budget holds on this trained net
    assert "1347 samples" in int8["calibration"]  # calibrated on the training images
    assert judged["precision"] == "int8", int8["why"]
    assert int8["int8_macs_share"] > 0.5
    model, split = trained
    x = split.x_test[:150]
    with torch.no_grad():
        moved = (judged["engine"](x) - model(x)).abs().max()
    assert moved > 0  # int8 really ran: the numbers changed ...
    # ... and the answers did not: measured here 0.9889 against 0.9911 (one image of 450)
    assert judged["int8"] >= judged["float"] - 0.01
