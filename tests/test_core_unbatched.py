"""conv1x1 takes one unbatched sample exactly where torch's conv does (issue: a (C, H, W) image
was read as a batch of 1-D signals, and torch's own conv3d sample failed on its weight shape)."""
import numpy as np
import pytest
import torch
from torch import nn

import onebyone
from onebyone import Conv1x1, OneByOneError, core
from onebyone.formulations import FORMULATIONS
from opcheck import check_op

METHODS = list(FORMULATIONS) + ["auto"]
SPATIAL = {1: (7,), 2: (5, 3), 3: (2, 3, 4)}


def sample(spatial, kind, layout, cin=6, cout=4, groups=2, seed=0):
    """One unbatched sample x (C, *S) or (*S, C), a weight with its kernel axes, and a bias."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((cin, *SPATIAL[spatial]))
    if layout == "channels_last":
        x = np.moveaxis(x, 0, -1)
    w = rng.standard_normal((cout, cin // groups) + (1,) * spatial)
    b = rng.standard_normal(cout)
    if kind == "torch":
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(w), torch.from_numpy(b)
    return x, w, b


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("spatial", [1, 2, 3])
def test_one_sample_matches_torch_conv(spatial, kind, layout, method):
    x, w, b = sample(spatial, kind, layout)
    y = check_op(x, w, b, stride=2, padding=1, groups=2, layout=layout, method=method)
    assert y.ndim == x.ndim  # (Cout, *S') or (*S', Cout): no batch axis added


@pytest.mark.parametrize("method", ["loop", "einsum", "gemm", "torch", "auto"])
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_one_sample_gradients_match_torch(method, layout):
    x, w, b = sample(2, "torch", layout)
    check_op(x, w, b, groups=2, layout=layout, method=method, grad=True)  # GEMM path at stride 1
    check_op(x, w, b, stride=2, padding=1, groups=2, layout=layout, method=method, grad=True)


def test_torch_conv3d_samples_with_a_1x1x1_weight():
    """torch's own conv3d test samples with a 1x1x1 kernel: batched and unbatched, padding='same'."""
    torch.manual_seed(0)
    for x_shape in ((1, 1, 4, 4, 4), (1, 4, 4, 4)):
        x, w, b = torch.randn(x_shape), torch.randn(1, 1, 1, 1, 1), torch.randn(1)
        y = check_op(x, w, b, padding="same")
        assert y.shape == x_shape


def test_a_permuted_image_and_a_non_contiguous_one():
    x = torch.randn(5, 7, 6).permute(2, 0, 1)  # (C, H, W) over HWC memory
    w = torch.randn(3, 6, 1, 1)
    for method in ("auto", "gemm", "torch"):
        check_op(x, w, method=method)
        check_op(x[:, ::2, 1:], w, method=method)


def test_the_weight_rank_decides_and_plans_never_mix():
    """The same (5, 8, 8) x is one image with a (4, 5, 1, 1) weight and a batch of five 1-D
    signals with a (4, 8) matrix; alternating calls each keep their own answer."""
    core.forget_plans()
    x = torch.randn(5, 8, 8)
    image_w, signal_w = torch.randn(4, 5, 1, 1), torch.randn(4, 8)
    for _ in range(2):  # the second round runs the memoised plans
        assert onebyone.conv1x1(x, image_w).shape == (4, 8, 8)
        assert onebyone.conv1x1(x, signal_w).shape == (5, 4, 8)
        assert onebyone.conv1x1(x[None], image_w).shape == (1, 4, 8, 8)
    batched = onebyone.conv1x1(x[None], image_w)
    torch.testing.assert_close(onebyone.conv1x1(x, image_w), batched[0])


def test_tune_times_one_sample_as_the_batch_of_one_it_runs():
    x, w = torch.randn(8, 6, 6), torch.randn(4, 8, 1, 1)
    result = onebyone.tune(x, w, budget_s=0.01)
    assert result["key"].startswith("(1, 8, 6, 6)->4")
    check_op(x, w)  # the tuned winner still gives torch's answer


def test_a_plain_matrix_keeps_the_batched_reading_and_names_the_other():
    x = np.zeros((5, 8, 8))
    assert onebyone.conv1x1(x, np.zeros((4, 8))).shape == (5, 4, 8)  # (N, C, L), as always
    with pytest.raises(OneByOneError) as info:
        onebyone.conv1x1(x, np.zeros((4, 5)))
    assert str(info.value) == (
        "x (5, 8, 8) read as (N, C, L) has 8 channels but weight (4, 5) with groups=1 expects 5; "
        "as one (C, H, W) image, pass the weight as (Cout, Cin/groups, 1, 1), e.g. weight.reshape(4, 5, 1, 1)")
    with pytest.raises(OneByOneError, match=r"as one \(C, D, H, W\) volume, pass the weight as "
                                            r"\(Cout, Cin/groups, 1, 1, 1\)"):
        onebyone.conv1x1(np.zeros((3, 2, 4, 4)), np.zeros((4, 3)))
    with pytest.raises(OneByOneError, match=r"got rank 2 with shape \(5, 8\); as one unbatched \(C, L\) signal"):
        onebyone.conv1x1(np.zeros((5, 8)), np.zeros((4, 5)))


@pytest.mark.parametrize("x_shape, w_shape, message", [
    ((2, 5, 8, 8, 8), (4, 5, 1, 1), "weight (4, 5, 1, 1) has 2 kernel axes, so x must be (N, C, H, W) "
                                    "or one unbatched (C, H, W), as for torch's conv2d; got shape (2, 5, 8, 8, 8)"),
    ((5, 8), (4, 5, 1, 1), "got shape (5, 8)"),
    ((3, 8, 8), (4, 5, 1, 1), "x has 3 channels but weight (4, 5, 1, 1) with groups=1 expects 5 input channels"),
    ((0, 8, 8), (4, 5, 1, 1), "x must have at least one channel and one position per spatial axis"),
])
def test_unbatched_errors_say_what_was_expected(x_shape, w_shape, message):
    with pytest.raises(OneByOneError) as info:
        onebyone.conv1x1(np.zeros(x_shape), np.zeros(w_shape))
    assert message in str(info.value)
    with pytest.raises(RuntimeError):  # torch refuses the same calls
        torch.nn.functional.conv2d(torch.zeros(x_shape), torch.zeros(w_shape))


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_conv1x1_module_takes_one_sample_like_nn_conv(dims):
    torch.manual_seed(0)
    ref = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims](6, 4, 1, stride=2, padding=1, groups=2)
    mine = Conv1x1.from_conv(ref)
    x = torch.randn(6, *SPATIAL[dims])
    torch.testing.assert_close(mine(x), ref(x))
    assert mine(x).shape == ref(x).shape
