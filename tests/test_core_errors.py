"""Each bad input gets OneByOneError with what was expected and what was given."""
import numpy as np
import pytest
import torch

import onebyone
from onebyone import OneByOneError

X = np.zeros((2, 6, 4, 4), np.float32)
W = np.zeros((8, 6), np.float32)


@pytest.mark.parametrize("call, message", [
    (lambda: onebyone.conv1x1(X, np.zeros((8, 5), np.float32)),
     "x has 6 channels but weight (8, 5) with groups=1 expects 5 input channels"),
    (lambda: onebyone.conv1x1(X, np.zeros((8, 6, 3, 3), np.float32)),
     "weight (8, 6, 3, 3) has a 3x3 kernel: that is a 3x3 convolution, not 1x1"),
    (lambda: onebyone.conv1x1(X, np.zeros((8, 2), np.float32), groups=4),
     "x has 6 channels but weight (8, 2) with groups=4 expects 8 input channels"),
    (lambda: onebyone.conv1x1(X, np.zeros((8, 2), np.float32), groups=3),
     "groups=3 must divide the output channels; got 8 output channels"),
    (lambda: onebyone.conv1x1(X, W, groups=0), "groups must be a positive integer; got 0"),
    (lambda: onebyone.conv1x1(np.zeros((6, 4), np.float32), W),
     "x must have rank 3, 4 or 5 (batch, channels and 1-3 spatial axes); got rank 2 with shape (6, 4)"),
    (lambda: onebyone.conv1x1(np.zeros((1, 1, 1, 1, 1, 6), np.float32), W), "got rank 6"),
    (lambda: onebyone.conv1x1(X, W, layout="nhwc"),
     "layout must be one of channels_first, channels_last; got 'nhwc'"),
    (lambda: onebyone.conv1x1(X, W, method="fft"),
     "method must be one of auto, loop, einsum, gemm, kron, torch; got 'fft'"),
    (lambda: onebyone.conv1x1(X, W.astype(np.float64)),
     "weight dtype must match x's dtype float32; got float64"),
    (lambda: onebyone.conv1x1(X, W, np.zeros(8)), "bias dtype must match x's dtype float32; got float64"),
    (lambda: onebyone.conv1x1(X, W, np.zeros(7, np.float32)), "bias must have shape (8,); got (7,)"),
    (lambda: onebyone.conv1x1(X.astype(np.int64), W.astype(np.int64)),
     "x must have a floating-point dtype; got int64"),
    (lambda: onebyone.conv1x1(X, torch.zeros(8, 6)), "x is a numpy.ndarray, so weight must be one too; got torch.Tensor"),
    (lambda: onebyone.conv1x1(torch.zeros(1, 6, 2, 2), W), "x is a torch.Tensor, so weight must be one too; got numpy.ndarray"),
    (lambda: onebyone.conv1x1(X.tolist(), W), "x must be a NumPy array or a torch tensor; got list"),
    (lambda: onebyone.conv1x1(X, W, stride=0), "stride must be an integer >= 1 or a tuple of 2 of them; got 0"),
    (lambda: onebyone.conv1x1(X, W, stride=(1, 2, 3)), "got (1, 2, 3)"),
    (lambda: onebyone.conv1x1(X, W, padding=-1), "padding must be an integer >= 0 or a tuple of 2 of them; got -1"),
    (lambda: onebyone.conv1x1(X, W, padding="full"), "padding must be 'valid', 'same', or integers >= 0; got 'full'"),
    (lambda: onebyone.conv1x1(X, W, stride=2, padding="same"), "padding='same' needs stride 1"),
    (lambda: onebyone.conv1x1(X, np.zeros((8, 6, 1), np.float32)),
     "weight (8, 6, 1) has 1 kernel axis, so x must be (N, C, L) or one unbatched (C, L), as for torch's conv1d; "
     "got shape (2, 6, 4, 4)"),
    (lambda: onebyone.conv1x1(X, np.zeros((8, 6, 1, 1, 1, 1), np.float32)),
     "weight must be (Cout, Cin/groups) or that followed by 1-3 kernel axes of size 1; got shape (8, 6, 1, 1, 1, 1)"),
    (lambda: onebyone.conv1x1(torch.zeros(1, 6, 2, 2, device="meta"), torch.zeros(8, 6)),
     "weight must be on x's device meta; got cpu"),
    (lambda: onebyone.conv1x1(torch.zeros(1, 6, 2, 2), torch.zeros(8, 6, requires_grad=True), method="kron"),
     "method='kron' computes with SciPy and cannot carry gradients"),
    (lambda: onebyone.conv1x1(X, W, stride=None), "stride must be an integer >= 1 or a tuple of 2 of them; got None"),
    (lambda: onebyone.conv1x1(X, W, stride=1.5), "got 1.5"),
    (lambda: onebyone.conv1x1(X, W, padding=[1.0, 1.0]), "padding must be an integer >= 0"),
    (lambda: onebyone.conv1x1(np.zeros((2, 6, 0, 3), np.float32), W),
     "x must have at least one channel and one position per spatial axis (batch may be 0); got shape (2, 6, 0, 3)"),
    (lambda: onebyone.conv1x1(X, np.zeros((0, 6), np.float32)), "weight must have at least one output channel"),
    (lambda: onebyone.conv1x1(X.astype(np.float16), W.astype(np.float16), method="kron"),
     "NumPy x must be native-endian float32 or float64 for method='kron'; got <f2"),
    (lambda: onebyone.conv1x1(X.astype(">f4"), W.astype(">f4")), "NumPy x must be native-endian"),
])
def test_bad_input_message(call, message):
    with pytest.raises(OneByOneError) as info:
        call()
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("option", [dict(stride=True), dict(stride=1.0), dict(groups=True)])
def test_a_valid_call_first_does_not_let_a_lookalike_through(option):
    onebyone.conv1x1(torch.zeros(1, 6, 2, 2), torch.zeros(8, 6))  # 1 == True == 1.0 as dict keys
    with pytest.raises(OneByOneError):
        onebyone.conv1x1(torch.zeros(1, 6, 2, 2), torch.zeros(8, 6), **option)


def test_layout_decides_which_axis_holds_channels():
    x = np.zeros((2, 4, 4, 6), np.float32)  # NHWC
    assert onebyone.conv1x1(x, W, layout="channels_last").shape == (2, 4, 4, 8)
    with pytest.raises(OneByOneError, match="x has 4 channels"):
        onebyone.conv1x1(x, W)
