"""Keras conventions without TensorFlow: a Conv2D(kernel_size=1) kernel is (1, 1, Cin, Cout) and
runs on NHWC arrays; on one pixel it is exactly a Dense layer, y = x @ kernel[0, 0] + bias."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import onebyone
from onebyone.weights import from_keras, to_keras


def _keras_conv1x1(x_nhwc, kernel, bias):
    """What keras.layers.Conv2D(Cout, 1) computes, written as the Dense it reduces to: every
    pixel's channel vector times the (Cin, Cout) kernel, plus the bias (NumPy broadcasting
    applies the matrix along the last axis)."""
    return x_nhwc @ kernel[0, 0] + bias


@pytest.fixture
def layer():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 5, 6))       # NHWC, Keras's default data_format
    kernel = rng.standard_normal((1, 1, 6, 3))  # (kh, kw, Cin, Cout)
    bias = rng.standard_normal(3)
    return x, kernel, bias


def test_keras_kernel_on_nhwc_is_a_matrix_product_per_pixel(layer):
    x, kernel, bias = layer
    y = _keras_conv1x1(x, kernel, bias)
    assert y.shape == (2, 7, 5, 3)
    # The same number written out for one pixel and one output channel.
    n, i, j, o = 1, 4, 2, 1
    assert y[n, i, j, o] == pytest.approx(sum(x[n, i, j, c] * kernel[0, 0, c, o] for c in range(6))
                                          + bias[o])


def test_from_keras_gives_onebyone_the_same_layer(layer):
    x, kernel, bias = layer
    weight = from_keras(kernel)
    assert weight.shape == (3, 6, 1, 1)          # PyTorch (Cout, Cin, 1, 1)
    expected = _keras_conv1x1(x, kernel, bias)
    got = onebyone.conv1x1(x, weight, bias, layout="channels_last")
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)  # float64 throughout


def test_from_keras_gives_torch_the_same_layer(layer):
    x, kernel, bias = layer
    weight = torch.from_numpy(np.ascontiguousarray(from_keras(kernel)))
    nchw = torch.from_numpy(x).permute(0, 3, 1, 2)
    y = F.conv2d(nchw, weight, torch.from_numpy(bias)).permute(0, 2, 3, 1)
    np.testing.assert_allclose(y.numpy(), _keras_conv1x1(x, kernel, bias), rtol=1e-12, atol=1e-12)


def test_round_trips_and_other_ranks():
    rng = np.random.default_rng(1)
    for kernel in (rng.standard_normal((1, 4, 2)),            # Conv1D: (k, Cin, Cout)
                   rng.standard_normal((1, 1, 4, 2)),         # Conv2D
                   rng.standard_normal((1, 1, 1, 4, 2))):     # Conv3D
        weight = from_keras(kernel)
        assert weight.shape == (2, 4) + (1,) * (kernel.ndim - 2)
        assert np.array_equal(to_keras(weight), kernel)
    # torch tensors convert the same way, without leaving torch.
    t = torch.randn(3, 6, 1, 1)
    assert to_keras(t).shape == (1, 1, 6, 3) and torch.equal(from_keras(to_keras(t)), t)
