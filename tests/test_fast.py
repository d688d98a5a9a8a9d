"""The auto dispatcher: every candidate it can pick, its backward, memory formats, the tuning cache."""
import json
import warnings

import numpy as np
import pytest
import torch

import onebyone
from onebyone import _methods, core, dispatch, tuning_cache
from onebyone._validate import validate
from opcheck import TOLERANCES, check_op, reference

# (N, Cin, spatial..., Cout, stride, memory format): rows and columns, one pixel, batch 0, 1-D/3-D.
CASES = [
    ((2, 6, 5, 7), 4, 1, "contiguous"),
    ((2, 6, 5, 7), 4, 2, "contiguous"),
    ((1, 6, 5, 7), 4, 1, "contiguous"),
    ((2, 6, 5, 7), 4, 1, "channels_last"),
    ((1, 6, 5, 7), 4, 2, "channels_last"),
    ((3, 6, 1, 1), 4, 1, "contiguous"),
    ((0, 6, 5, 7), 4, 1, "channels_last"),
    ((2, 6, 9), 3, 2, "contiguous"),
    ((2, 5, 3, 4, 2), 3, 1, "channels_last_3d"),
]


def make(shape, cout, memory_format, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=dtype)
    if memory_format != "contiguous":
        x = x.contiguous(memory_format=getattr(torch, memory_format))
    w = torch.randn(cout, shape[1], *([1] * (len(shape) - 2)), generator=g, dtype=dtype)
    b = torch.randn(cout, generator=g, dtype=dtype)
    return x, w, b


@pytest.mark.parametrize("shape, cout, stride, memory_format", CASES)
@pytest.mark.parametrize("grad", [False, True])
def test_every_candidate_matches_the_reference(shape, cout, stride, memory_format, grad):
    x, w, b = make(shape, cout, memory_format)
    call = validate(x, w, b, stride, 0, 1)
    names = dispatch.eligible(call, x)
    assert names == ["torch", "gemm"]
    expected = reference(x, w, b, stride, 0, 1, "channels_first")
    loop = onebyone.conv1x1(x, w, b, stride=stride, method="loop")
    for name in names:
        leaves = [t.detach().clone().requires_grad_(grad) for t in (x, w, b)]
        y = _methods.runner(name, call, x, grad)(leaves[0], leaves[1].reshape(cout, -1), leaves[2])
        torch.testing.assert_close(y, expected, **TOLERANCES[x.dtype])
        torch.testing.assert_close(y, loop, **TOLERANCES[x.dtype])
        if memory_format != "contiguous" and shape[0] > 0:
            fmt = getattr(torch, memory_format)
            assert y.is_contiguous(memory_format=fmt), f"{name} changed the memory format"
        if grad:
            y.backward(torch.randn_like(y))
            assert all(t.grad is not None for t in leaves)


@pytest.mark.parametrize("shape, cout, stride, memory_format", CASES)
def test_gemm_backward_gradcheck(shape, cout, stride, memory_format):
    if shape[0] == 0:
        pytest.skip("gradcheck needs at least one element")
    x, w, b = make(shape, cout, memory_format)
    call = validate(x, w, b, stride, 0, 1)
    run = _methods.runner("gemm", call, x, True)
    leaves = [t.detach().clone().requires_grad_(True) for t in (x, w, b)]
    assert torch.autograd.gradcheck(lambda x, w, b: run(x, w.reshape(cout, -1), b), leaves)


@pytest.mark.parametrize("memory_format", ["contiguous", "channels_last"])
@pytest.mark.parametrize("grad", [False, True])
def test_auto_matches_torch_and_keeps_memory_format(memory_format, grad):
    x, w, b = make((2, 8, 6, 5), 4, memory_format, dtype=torch.float32)
    check_op(x, w, b, grad=grad)
    check_op(x, w, b, stride=2, grad=grad)
    check_op(x, w, None, grad=grad)


def _copies_in(fn, *tensors):
    """Copy ops run by fn() that read or write a tensor shaped like one of `tensors`.

    (Filling the output with the bias before a GEMM accumulates into it is not a hidden copy.)
    """
    shapes = [list(t.shape) for t in tensors]
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        fn()
    return [e.name for e in prof.events()
            if e.name in ("aten::copy_", "aten::clone", "aten::contiguous")
            and any(s in shapes for s in e.input_shapes)]


@pytest.mark.parametrize("memory_format", ["contiguous", "channels_last"])
def test_gemm_path_makes_no_hidden_copies(memory_format):
    x, w, b = make((2, 16, 8, 8), 8, memory_format, dtype=torch.float32)
    run = _methods.runner("gemm", validate(x, w, b, 1, 0, 1), x, False)
    with torch.no_grad():
        y = run(x, w, b)
        assert _copies_in(lambda: run(x, w, b), x, y) == []
    leaves = [t.detach().clone().requires_grad_(True) for t in (x, w, b)]
    call = validate(*leaves, 1, 0, 1)
    gemm = _methods.runner("gemm", call, leaves[0], True)
    y = gemm(leaves[0], leaves[1].reshape(8, 16), leaves[2])
    grad = torch.ones_like(y)  # ones_like keeps y's memory format
    assert _copies_in(lambda: y.backward(grad), x, y) == []


def test_padding_and_groups_go_to_torch_conv():
    x, w, b = make((2, 6, 5, 5), 4, "contiguous")
    for kwargs in (dict(padding=1), dict(groups=2)):
        call = validate(x, w[:, : 6 // kwargs.get("groups", 1)], b, 1, kwargs.get("padding", 0), kwargs.get("groups", 1))
        assert dispatch.eligible(call, x) == ["torch"]
        check_op(x, w[:, : 6 // kwargs.get("groups", 1)], b, **kwargs, grad=True)


def test_rule_only_picks_eligible_candidates():
    for shape, cout, stride, memory_format in CASES:
        x, w, b = make(shape, cout, memory_format)
        call = validate(x, w, b, stride, 0, 1)
        for grad in (False, True):
            assert dispatch.rule(call, x, grad) in dispatch.eligible(call, x)


@pytest.fixture
def cache_file(tmp_path):
    return tmp_path / "tuning.json"  # the root conftest points ONEBYONE_CACHE here


def test_tune_round_trips_through_the_file(cache_file):
    x, w, b = make((1, 8, 4, 4), 4, "contiguous", dtype=torch.float32)
    before = core.plan(x, w, b)
    result = onebyone.tune(x, w, b, budget_s=0.01)
    assert core.plan(x, w, b) is not before  # calls after tune() run the winner
    assert set(result["times"]) == {"torch", "gemm"} and result["winner"] in result["times"]
    data = json.loads(cache_file.read_text())
    assert data[tuning_cache.machine()][result["key"]] == result["winner"]
    tuning_cache.reset()  # a new process: read back from disk
    call = validate(x, w, b, 1, 0, 1)
    assert dispatch.choose(call, x, False) == result["winner"]


def test_corrupt_cache_is_ignored_with_a_warning(cache_file):
    cache_file.write_text("{not json")
    x, w, b = make((1, 8, 4, 4), 4, "contiguous", dtype=torch.float32)
    with pytest.warns(UserWarning, match="ignoring unreadable tuning cache"):
        y = onebyone.conv1x1(x, w, b)
    torch.testing.assert_close(y, reference(x, w, b, 1, 0, 1, "channels_first").float())
    onebyone.tune(x, w, b, budget_s=0.01)  # the next store replaces the broken file
    assert json.loads(cache_file.read_text())


def test_wrong_structure_cache_is_ignored(cache_file):
    cache_file.write_text(json.dumps(["a", "list"]))
    with pytest.warns(UserWarning, match="expected an object of objects"):
        assert tuning_cache.lookup("anything") is None


def test_environment_variable_tunes_unseen_keys(cache_file, monkeypatch):
    monkeypatch.setenv("ONEBYONE_TUNE", "1")
    x, w, b = make((1, 8, 4, 4), 4, "channels_last", dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        onebyone.conv1x1(x, w, b)
    (entries,) = json.loads(cache_file.read_text()).values()
    assert len(entries) == 1 and list(entries.values())[0] in ("torch", "gemm")


def test_tune_rejects_numpy():
    with pytest.raises(onebyone.OneByOneError, match="expected a torch tensor"):
        onebyone.tune(np.zeros((1, 2, 2, 2)), np.zeros((2, 2)))


def test_plans_are_reused_and_revalidated_on_change():
    x, w, b = make((1, 8, 4, 4), 4, "contiguous", dtype=torch.float32)
    assert core.plan(x, w, b) is core.plan(x, w, b)
    with pytest.raises(onebyone.OneByOneError, match="weight dtype must match"):
        onebyone.conv1x1(x, w.double(), b)


@pytest.mark.parametrize("memory_format", ["contiguous", "channels_last"])
@pytest.mark.parametrize("spatial", [(5, 7), (1, 1)])
def test_inplace_op_after_conv_backpropagates(memory_format, spatial):
    """torchvision follows convs with ReLU(inplace=True): the output must accept in-place ops."""
    x, w, b = make((2, 6, *spatial), 4, memory_format)
    leaves = [t.detach().clone().requires_grad_(True) for t in (x, w, b)]
    onebyone.conv1x1(*leaves).relu_().sum().backward()
    expected = [t.detach().clone().requires_grad_(True) for t in (x, w, b)]
    torch.nn.functional.conv2d(*expected).relu_().sum().backward()
    for mine, theirs in zip(leaves, expected):
        torch.testing.assert_close(mine.grad, theirs.grad)


def test_strided_views_go_to_conv_and_stay_exact():
    """A channel split (ShuffleNet's chunk) is a strided view: the GEMM path would copy it."""
    x, w, b = make((2, 12, 5, 5), 4, "channels_last")
    half = x[:, :6]
    call = validate(half, w[:, :6], b, 1, 0, 1)
    assert dispatch.rule(call, half, False) == "torch"
    check_op(half, w[:, :6], b)
