"""The worked example: the user's layer shrunk in sizes only, its written-out sums are the conv."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import onebyone
from onebyone.explanation.example import small_channels

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _check(e):
    """Recompute the example's conv from its own x and weight with torch, check every view."""
    ex, L = e.example, e.layer
    dims = len(ex.size)
    x = torch.tensor(ex.x_hwc, dtype=torch.float64).movedim(-1, 0)[None]  # (1, C, *size)
    w = torch.tensor(ex.weight, dtype=torch.float64)
    w = w.reshape(w.shape[:2] + ex.kernel)
    b = torch.tensor(ex.bias, dtype=torch.float64) if L.bias else None
    expected = CONV[dims](x, w, b, stride=ex.stride, padding=ex.padding,
                          groups=ex.groups)[0].movedim(0, -1)
    assert tuple(expected.shape[:-1]) == ex.output_size
    for output in (ex.output_hwc, ex.output_onebyone, ex.output_torch):
        if output is not None:
            np.testing.assert_array_equal(np.array(output, dtype=float), expected.numpy())
    assert (ex.output_onebyone is None) == any(k != 1 for k in ex.kernel)
    assert ex.max_abs_diff == 0 and ex.whole_image_agrees and ex.gemm_agrees
    pixels_by_channel = expected.reshape(-1, ex.out_channels).numpy()
    gemm = np.array(ex.gemm_x) @ np.array(ex.gemm_w) + np.array(ex.bias)  # (P, Cin*K) @ (., Cout)
    np.testing.assert_array_equal(gemm, pixels_by_channel)
    np.testing.assert_array_equal(np.array(ex.gemm_y), pixels_by_channel)
    for d in ex.dot_products:  # each written-out sum is what it says
        assert sum(wi * xi for wi, xi in d.terms) + d.bias == d.value
        assert d.value == expected[d.pixel + (d.out_channel,)]
    flat = np.array(ex.whole_image) @ x.numpy().reshape(-1)  # the whole-image matrix, for real
    bias = np.repeat(np.array(ex.bias), int(np.prod(ex.output_size)))
    np.testing.assert_array_equal(flat + bias, expected.movedim(-1, 0).reshape(-1).numpy())
    assert ex.weight_rank == np.linalg.matrix_rank(np.array(ex.gemm_w, dtype=float))


@pytest.mark.parametrize("shape, filters, options", [
    ("28x28x192", 32, {}),
    ("28x28x1", 16, {}),
    ("28x28x64", 64, {"groups": 2}),
    ("9x2", 3, {"dims": 1, "bias": False}),
    ("3x5x5x4", 4, {"dims": 3, "groups": 4}),
    ("7x7x16", 8, {"stride": 2, "padding": 1}),
    ("64x64x3", 32, {"kernel": 3}),
    ("8x8x6", 6, {"kernel": 3, "stride": 2, "padding": 1, "groups": 3}),
])
def test_example_agrees_with_torch(shape, filters, options):
    _check(onebyone.explain(shape, filters=filters, example=True, **options))


@settings(max_examples=40, derandomize=True, deadline=None)
@given(dims=st.integers(1, 3), cin_g=st.integers(1, 6), cout_g=st.integers(1, 6),
       groups=st.sampled_from([1, 2, 3, 4, 8]), kernel=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.integers(0, 2), extra=st.integers(0, 9), bias=st.booleans())
def test_example_keeps_kernel_stride_padding_groups(dims, cin_g, cout_g, groups, kernel, stride,
                                                    padding, extra, bias):
    e = onebyone.explain((1, cin_g * groups) + (kernel + extra,) * dims, filters=cout_g * groups,
                         dims=dims, kernel=kernel, stride=stride, padding=padding, groups=groups,
                         bias=bias, example=True)
    ex, L = e.example, e.layer
    assert (ex.kernel, ex.stride, ex.padding) == (L.kernel, L.stride, L.padding)
    if groups <= 4:
        assert ex.groups == groups
        assert f"groups {groups}" in ex.stand_in or ex.stand_in.startswith("your layer itself")
    else:
        assert f"{ex.groups} groups standing in for your {groups}" in ex.stand_in
    assert all(a <= b for a, b in zip(ex.size, L.input_size))
    assert ex.in_channels <= L.in_channels and (ex.in_channels == 1) == (L.in_channels == 1)
    assert (ex.in_channels // ex.groups == 1) == (cin_g == 1)  # one channel per group stays one
    assert np.sign(ex.out_channels - ex.in_channels) == np.sign(L.out_channels - L.in_channels)
    _check(e)


def test_stand_in_says_what_it_stands_for():
    ex = onebyone.explain("28x28x192", filters=32, stride=2, example=True).example
    assert ex.stand_in.startswith("a 3x3x3 -> 2 filters stand-in for your 28x28x192 -> 32 filters")
    assert "same kernel 1x1, stride 2x2, padding 0x0, groups 1" in ex.stand_in


def test_kernel_3_shows_one_filter_as_its_kernels_summed():
    """Conv2D(32, 3x3) on 64x64x3: each filter is 3 kernels of 3x3, each slid and summed."""
    ex = onebyone.explain("64x64x3", filters=32, kernel=3, example=True).example
    assert len(ex.kernel_slides) == 3 and ex.kernel == (3, 3)
    total = np.zeros(ex.output_size)
    for s in ex.kernel_slides:  # slide each kernel over its channel with torch, compare
        channel = torch.tensor(s.channel, dtype=torch.float64)[None, None]
        kernel = torch.tensor(s.kernel, dtype=torch.float64)[None, None]
        slid = F.conv2d(channel, kernel)[0, 0].numpy()
        np.testing.assert_array_equal(np.array(s.slid), slid)
        total += slid
    channel0 = np.array(ex.output_hwc)[..., 0]
    np.testing.assert_array_equal(total + ex.bias[0], channel0)


@pytest.mark.parametrize("seed", range(6))
def test_rank_line_says_invertible_only_when_it_is(seed):
    """Small integer weights are sometimes singular: the line must follow the measured rank."""
    from onebyone.explanation.example import example_lines

    ex = onebyone.explain("8x8x3", filters=3, example=True, seed=seed).example
    rank = np.linalg.matrix_rank(np.array(ex.weight, dtype=float))
    line = example_lines(ex)[-1]
    assert f"has rank {rank}" in line
    assert ("invertible, so this W is a change of basis" in line) == (rank == 3)


def test_example_keeps_the_layers_character():
    assert small_channels(192, 32, 1) == (3, 2, 1)  # reduction stays a reduction
    assert small_channels(1, 16, 1) == (1, 2, 1)  # one input channel stays one
    assert small_channels(64, 64, 1) == (3, 3, 1)  # in == out stays square
    assert small_channels(3, 64, 1) == (3, 4, 1)  # expansion stays expansion
    assert small_channels(64, 64, 64) == (3, 3, 3)  # depthwise stays depthwise
    assert small_channels(4, 4, 2) == (4, 4, 2)
    assert small_channels(64, 64, 4) == (8, 8, 4)  # groups kept, 2 channels each


def test_one_input_channel_gives_scaled_copies():
    ex = onebyone.explain("28x28x1", filters=16, bias=False, example=True).example
    out = np.array(ex.output_hwc, dtype=float).reshape(-1, ex.out_channels)  # (pixels, Cout)
    x = np.array(ex.x_hwc, dtype=float).reshape(-1)
    np.testing.assert_array_equal(out, np.outer(x, np.array(ex.weight).reshape(-1)))
    assert np.linalg.matrix_rank(out) <= 1


@pytest.mark.parametrize("shape, filters, options", [
    ("64x64x3", 32, {"kernel": 3}),
    ("5x5x5x2", 3, {"kernel": 3, "dims": 3}),
    ("8x8x6", 6, {"kernel": 3, "stride": 2, "padding": 1, "groups": 3}),
])
def test_stacked_grids_fit_80_columns_and_keep_every_number(shape, filters, options):
    """A wide im2col matrix is printed in blocks of columns, never a row past 80 columns
    (a terminal would fold it into the next row); the blocks put together are the matrix."""
    import re

    from onebyone.explanation.example import WIDTH, example_lines

    ex = onebyone.explain(shape, filters=filters, example=True, **options).example
    lines = example_lines(ex)
    grid_rows = [line for line in lines if re.fullmatch(r"\s+-?\d+(\s+-?\d+)*", line)]
    assert grid_rows and all(len(line) <= WIDTH for line in grid_rows)
    rows, name = {}, None
    for line in lines:
        head = re.fullmatch(r"  (x|W\^T|bias|y)\b.*:", line)
        if head:
            name, i = head.group(1), 0
        elif name == "x" and line in grid_rows:
            rows.setdefault(i, []).extend(int(v) for v in line.split())
            i += 1
        else:
            name = None if not line.startswith("    ") else name
    assert [rows[i] for i in sorted(rows)] == [list(r) for r in ex.gemm_x]


@pytest.mark.parametrize("padding", [0, 1])
def test_the_product_mentions_padding_only_when_there_is_some(padding):
    """A strided example with no padding has no zero rows: its heading must not promise them."""
    from onebyone.explanation.example import gemm_lines

    ex = onebyone.explain("6x6x3", filters=2, stride=2, padding=padding, example=True).example
    heading = gemm_lines(ex)[0]
    zero_rows = any(not any(row) for row in ex.gemm_x)  # a padded position reads only zeros
    assert ("0 in padding" in heading) == (padding > 0), heading
    assert zero_rows == (padding > 0)
