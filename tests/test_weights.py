"""Weight layouts: PyTorch (O, I, 1, 1) <-> Keras (1, 1, I, O) <-> matrix (I, O)."""
import numpy as np
import pytest
import torch

import onebyone
from onebyone import OneByOneError, weights


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_round_trips(dims, kind):
    w = np.random.default_rng(0).standard_normal((5, 3) + (1,) * dims)
    w = torch.from_numpy(w) if kind == "torch" else w
    assert tuple(weights.to_keras(w).shape) == (1,) * dims + (3, 5)
    assert tuple(weights.to_matrix(w).shape) == (3, 5)
    np.testing.assert_array_equal(np.asarray(weights.from_keras(weights.to_keras(w))), np.asarray(w))
    np.testing.assert_array_equal(np.asarray(weights.from_matrix(weights.to_matrix(w), dims=dims)), np.asarray(w))


def test_matrix_form_is_the_channels_last_product():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 4, 3))  # NHWC
    w = rng.standard_normal((5, 3, 1, 1))
    y = onebyone.conv1x1(x, w, layout="channels_last")
    np.testing.assert_allclose(y, x @ weights.to_matrix(w))


def test_to_matrix_rejects_a_3x3():
    with pytest.raises(OneByOneError, match=r"expected a 1x1 kernel; got a 3x3 kernel in weight \(2, 2, 3, 3\)"):
        weights.to_matrix(np.zeros((2, 2, 3, 3)))
    with pytest.raises(OneByOneError, match="expected an \\(I, O\\) matrix; got shape \\(2, 2, 2\\)"):
        weights.from_matrix(torch.zeros(2, 2, 2))
