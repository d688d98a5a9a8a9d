"""The worked example: its written-out sums are the conv, as torch computes it."""
import numpy as np
import pytest
import torch

import onebyone
from onebyone.explanation.example import small_channels


@pytest.mark.parametrize("shape, filters, options", [
    ("28x28x192", 32, {}),
    ("28x28x1", 16, {}),
    ("28x28x64", 64, {"groups": 2}),
    ("9x2", 3, {"dims": 1, "bias": False}),
    ("3x5x5x4", 4, {"dims": 3, "groups": 4}),
])
def test_example_agrees_with_torch(shape, filters, options):
    e = onebyone.explain(shape, filters=filters, example=True, **options)
    ex = e.example
    x = torch.tensor(ex.x_hwc, dtype=torch.float64).movedim(-1, 0)[None]  # (1, C, *size)
    w = torch.tensor(ex.weight, dtype=torch.float64)
    w = w.reshape(w.shape + (1,) * len(ex.size))
    b = torch.tensor(ex.bias, dtype=torch.float64) if e.layer.bias else None
    conv = (torch.nn.functional.conv1d, torch.nn.functional.conv2d, torch.nn.functional.conv3d)
    expected = conv[len(ex.size) - 1](x, w, b, groups=ex.groups)[0].movedim(0, -1)
    for output in (ex.output_hwc, ex.output_onebyone, ex.output_torch):
        np.testing.assert_array_equal(np.array(output, dtype=float), expected.numpy())
    assert ex.max_abs_diff == 0 and ex.whole_image_agrees and ex.gemm_agrees
    pixels_by_channel = expected.reshape(-1, ex.out_channels).numpy()
    gemm = np.array(ex.gemm_x) @ np.array(ex.gemm_w) + np.array(ex.bias)  # (P, Cin) @ (Cin, Cout)
    np.testing.assert_array_equal(gemm, pixels_by_channel)
    np.testing.assert_array_equal(np.array(ex.gemm_y), pixels_by_channel)
    for d in ex.dot_products:  # each written-out sum is what it says
        assert sum(wi * xi for wi, xi in d.terms) + d.bias == d.value
        assert d.value == expected[d.pixel + (d.out_channel,)]
    cout, pixels = ex.out_channels, int(np.prod(ex.size))
    assert np.array(ex.whole_image).shape == (cout * pixels, ex.in_channels * pixels)


def test_example_keeps_the_layers_character():
    assert small_channels(192, 32, 1) == (3, 2, 1)  # reduction stays a reduction
    assert small_channels(1, 16, 1) == (1, 2, 1)  # one input channel stays one
    assert small_channels(64, 64, 1) == (3, 3, 1)  # in == out stays square
    assert small_channels(3, 64, 1) == (3, 4, 1)  # expansion stays expansion
    assert small_channels(64, 64, 64) == (3, 3, 3)  # depthwise stays depthwise
    assert small_channels(4, 4, 2) == (4, 4, 2)


def test_one_input_channel_gives_scaled_copies():
    ex = onebyone.explain("28x28x1", filters=16, bias=False, example=True).example
    out = np.array(ex.output_hwc, dtype=float).reshape(-1, ex.out_channels)  # (pixels, Cout)
    x = np.array(ex.x_hwc, dtype=float).reshape(-1)
    np.testing.assert_array_equal(out, np.outer(x, np.array(ex.weight).reshape(-1)))
    assert np.linalg.matrix_rank(out) <= 1
