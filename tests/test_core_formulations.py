"""Every formulation of conv1x1 against torch's conv, on awkward shapes chosen by hypothesis."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from onebyone._validate import validate
from onebyone.formulations import FORMULATIONS
from opcheck import TOLERANCES, as_torch64, check_op, reference

METHODS = list(FORMULATIONS) + ["auto"]


@st.composite
def conv_cases(draw):
    """A random conv1x1 call: shapes, options, dtype, kind, layout and memory strides."""
    spatial = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 4))
    cout = groups * draw(st.integers(1, 4))
    batch = draw(st.integers(0, 3))
    size = draw(st.lists(st.integers(1, 6), min_size=spatial, max_size=spatial))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 2))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    layout = draw(st.sampled_from(["channels_first", "channels_last"]))
    kind = draw(st.sampled_from(["numpy", "torch"]))
    strided = draw(st.sampled_from(["contiguous", "every_other", "channels_last_memory"]))
    bias = draw(st.booleans())
    full_weight = draw(st.booleans())
    # One unbatched sample, as torch's conv takes it: only with the weight's kernel axes.
    unbatched = full_weight and draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return dict(spatial=spatial, groups=groups, cin=cin, cout=cout, batch=batch, size=size,
                stride=stride, padding=padding, dtype=dtype, layout=layout, kind=kind,
                strided=strided, bias=bias, full_weight=full_weight, unbatched=unbatched, seed=seed)


def make_inputs(case):
    rng = np.random.default_rng(case["seed"])
    channel_axis = 0 if case["unbatched"] else 1
    shape = ([] if case["unbatched"] else [case["batch"]]) + [case["cin"], *case["size"]]
    every_other = case["strided"] == "every_other"
    if every_other:  # a non-contiguous view: every other element of the last axis
        shape[-1] *= 2
    x = rng.standard_normal(shape).astype(case["dtype"])
    w_shape = (case["cout"], case["cin"] // case["groups"])
    if case["full_weight"]:
        w_shape += (1,) * case["spatial"]
    w = rng.standard_normal(w_shape).astype(case["dtype"])
    b = rng.standard_normal(case["cout"]).astype(case["dtype"]) if case["bias"] else None
    if case["kind"] == "torch":
        x, w = torch.from_numpy(x), torch.from_numpy(w)
        b = None if b is None else torch.from_numpy(b)
    if every_other:
        x = x[..., ::2]
    if case["strided"] == "channels_last_memory":  # a channels-first view of NHWC memory
        x = moveaxis(contiguous(moveaxis(x, channel_axis, -1)), -1, channel_axis)
    if case["layout"] == "channels_last":
        x = moveaxis(x, channel_axis, -1)
    return x, w, b


def moveaxis(a, source, dest):
    return a.movedim(source, dest) if isinstance(a, torch.Tensor) else np.moveaxis(a, source, dest)


def contiguous(a):
    return a.contiguous() if isinstance(a, torch.Tensor) else np.ascontiguousarray(a)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=100, deadline=None, derandomize=True)
@given(case=conv_cases())
def test_formulation_matches_torch(method, case):
    x, w, b = make_inputs(case)
    check_op(x, w, b, stride=case["stride"], padding=case["padding"], groups=case["groups"],
             layout=case["layout"], method=method)


@pytest.mark.parametrize("name", [n for n in FORMULATIONS if n != "loop"])
@settings(max_examples=60, deadline=None, derandomize=True)
@given(case=conv_cases())
def test_each_formulation_itself_matches_torch(name, case):
    """The formulations called directly: conv1x1(method="gemm") on a CPU float tensor runs the
    torch GEMM path instead, so the generic spec is checked on tensors here (loop is checked
    through conv1x1 above, which always runs it)."""
    x, w, b = make_inputs(case)
    if case["unbatched"]:  # formulations take batches; conv1x1 runs one sample as a batch of one
        x = x[None]
    if case["layout"] == "channels_last":
        x = moveaxis(x, -1, 1)
    call = validate(x, w, b, case["stride"], case["padding"], case["groups"])
    w2 = w.reshape(call.out_channels, call.in_channels // call.groups)
    y = FORMULATIONS[name](x, w2, b, call.stride, call.padding, call.groups)
    expected = reference(x, w, b, case["stride"], case["padding"], case["groups"], "channels_first")
    assert type(y) is type(x)
    torch.testing.assert_close(as_torch64(y), expected, **TOLERANCES[torch.from_numpy(np.zeros(0, case["dtype"])).dtype])


@pytest.mark.parametrize("method", ["loop", "einsum", "gemm", "torch", "auto"])
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_gradients_match_torch(method, layout):
    torch.manual_seed(0)
    x = torch.randn(2, 6, 5, 3, dtype=torch.float64)
    if layout == "channels_last":
        x = x.movedim(1, -1)
    w, b = torch.randn(4, 3, 1, 1, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    check_op(x, w, b, stride=2, padding=1, groups=2, layout=layout, method=method, grad=True)


@pytest.mark.parametrize("method", METHODS)
def test_one_input_channel_gives_scaled_copies(method):
    """With Cin = 1 every output channel is the input times one number (a rank-1 map)."""
    x = np.random.default_rng(1).standard_normal((2, 1, 4, 5))
    w = np.array([[2.0], [-3.0], [0.5]])
    y = check_op(x, w, method=method)
    for o, scale in enumerate(w[:, 0]):
        np.testing.assert_allclose(y[:, o], scale * x[:, 0])


@pytest.mark.parametrize("method", METHODS)
def test_nan_and_inf_propagate_like_torch(method):
    x = np.ones((1, 2, 2, 2))
    x[0, 0, 0, 0], x[0, 1, 1, 1] = np.nan, np.inf
    w = np.array([[1.0, 1.0]])
    y = onebyone_conv(x, w, method)
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w).reshape(1, 2, 1, 1)).numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(expected))


def onebyone_conv(x, w, method):
    import onebyone

    return onebyone.conv1x1(x, w, method=method)


def test_whole_image_matrix_is_kron_of_weight_and_identity():
    from onebyone.formulations import whole_image_matrix

    w = np.arange(1.0, 7.0).reshape(2, 3)
    m = whole_image_matrix(w, num_pixels=4)
    np.testing.assert_array_equal(m.toarray(), np.kron(w, np.eye(4)))
    assert m.nnz == w.size * 4  # sparse: only the diagonal of each block is stored


def test_float16_and_bfloat16_torch_inputs_work():
    x = torch.randn(1, 4, 3, 3)
    w = torch.randn(2, 4)
    for dtype in (torch.float16, torch.bfloat16):
        y = onebyone_conv(x.to(dtype), w.to(dtype), "auto")
        assert y.dtype == dtype
        torch.testing.assert_close(y.float(), onebyone_conv(x, w, "torch"), atol=0.1, rtol=0.05)
