"""Conv1x1 is a drop-in for nn.Conv{1,2,3}d(kernel_size=1)."""
import pytest
import torch
from torch import nn

import onebyone
from onebyone import Conv1x1, OneByOneError

TORCH_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_round_trips_both_ways(dims, bias):
    torch.manual_seed(0)
    ref = TORCH_CONV[dims](6, 4, kernel_size=1, stride=2, padding=1, groups=2, bias=bias)
    mine = Conv1x1(6, 4, stride=2, padding=1, groups=2, bias=bias, dims=dims)
    assert {k: v.shape for k, v in mine.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(3, 6, *([5] * dims))
    torch.testing.assert_close(mine(x), ref(x))
    back = TORCH_CONV[dims](6, 4, kernel_size=1, stride=2, padding=1, groups=2, bias=bias)
    back.load_state_dict(mine.state_dict())
    torch.testing.assert_close(back(x), ref(x))


def test_from_conv_copies_configuration_and_weights():
    conv = nn.Conv2d(8, 16, 1, stride=2, groups=4, bias=False).double()
    fast = Conv1x1.from_conv(conv)
    assert (fast.stride, fast.groups, fast.bias, fast.weight.dtype) == (conv.stride, 4, None, torch.float64)
    assert fast.weight is not conv.weight  # a copy: the user's module is never shared or mutated
    x = torch.randn(2, 8, 7, 7, dtype=torch.float64)
    torch.testing.assert_close(fast(x), conv(x))


def test_initialisation_matches_torch_distribution():
    """Same init scheme as nn.Conv2d: kaiming-uniform bound 1/sqrt(fan_in) on weight and bias."""
    torch.manual_seed(0)
    ref = nn.Conv2d(64, 128, 1)
    torch.manual_seed(0)
    mine = Conv1x1(64, 128)
    torch.testing.assert_close(mine.weight, ref.weight)
    torch.testing.assert_close(mine.bias, ref.bias)


def test_gradcheck_float64():
    """Through the module, on torch's conv path (padding) and on the GEMM path (batch 1)."""
    torch.manual_seed(0)
    for stride, padding in ((2, 1), (1, 0)):
        conv = Conv1x1(4, 3, stride=stride, padding=padding).double()
        x = torch.randn(1, 4, 3, 5, dtype=torch.float64, requires_grad=True)
        w, b = conv.weight.detach().requires_grad_(), conv.bias.detach().requires_grad_()
        assert torch.autograd.gradcheck(
            lambda x, w, b: torch.func.functional_call(conv, {"weight": w, "bias": b}, (x,)), (x, w, b))


def test_traceable_by_fx():
    model = nn.Sequential(Conv1x1(4, 8), nn.ReLU(), Conv1x1(8, 2))
    gm = torch.fx.symbolic_trace(model)
    x = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(gm(x), model(x))
    assert any(n.op == "call_function" and n.target is onebyone.conv1x1 for n in gm.graph.nodes)


def test_compiles_with_fullgraph():
    torch.manual_seed(0)
    model = nn.Sequential(Conv1x1(4, 8), nn.ReLU(), Conv1x1(8, 2)).eval()
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    x = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(compiled(x), model(x))


def test_channels_last_module_output_stays_channels_last():
    conv = Conv1x1(8, 4)
    x = torch.randn(2, 8, 5, 5).contiguous(memory_format=torch.channels_last)
    assert conv(x).is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("kwargs, message", [
    (dict(kernel_size=3), "Conv1x1 needs kernel_size 1; got 3"),
    (dict(groups=3), "groups must be a positive integer dividing in_channels=6 and out_channels=4; got 3"),
    (dict(padding_mode="reflect"), "Conv1x1 supports padding_mode='zeros'; got 'reflect'"),
    (dict(dims=4), "dims must be 1, 2 or 3; got 4"),
    (dict(stride=0), "stride must be an integer >= 1"),
    (dict(method="magic"), "method must be one of"),
])
def test_constructor_errors(kwargs, message):
    with pytest.raises(OneByOneError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Conv1x1(6, 4, **kwargs)


def test_from_conv_rejects_a_3x3():
    with pytest.raises(OneByOneError, match=r"expected kernel_size 1; got \(3, 3\)"):
        Conv1x1.from_conv(nn.Conv2d(3, 3, 3))


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("stride, padding", [(2, 1), ((1, 2, 3), (0, 1, 2)), (1, "same"), (1, "valid")])
def test_geometry_is_stored_as_nn_conv_stores_it(dims, stride, padding):
    """stride/padding/dilation/kernel_size are per-axis tuples (a padding string stays a string)."""
    if isinstance(stride, tuple):
        stride, padding = stride[:dims], padding[:dims]
    ref = TORCH_CONV[dims](6, 4, kernel_size=1, stride=stride, padding=padding)
    mine = Conv1x1(6, 4, stride=stride, padding=padding, dims=dims)
    for name in ("kernel_size", "stride", "padding", "dilation"):
        assert getattr(mine, name) == getattr(ref, name), name
        assert type(getattr(mine, name)) is type(getattr(ref, name)), name
    again = Conv1x1.from_conv(ref)
    assert (again.stride, again.padding) == (ref.stride, ref.padding)
    x = torch.randn(2, 6, *([5] * dims))
    torch.testing.assert_close(again(x), ref(x))
