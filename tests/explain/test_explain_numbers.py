"""Every number explain() reports, checked against torch or against a matrix built for real."""
from math import prod

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

import onebyone
from onebyone import weights as layouts
from onebyone.explanation.compute import toeplitz_matrix
from onebyone.formulations import whole_image_matrix

CONV = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
SPATIAL = {1: "l", 2: "hw", 3: "dhw"}


def _explain_and_module(cin, cout, size, kernel=1, stride=1, padding=0, groups=1, bias=True,
                        batch=1):
    dims = len(size)
    e = onebyone.explain((batch, cin) + tuple(size), filters=cout, dims=dims, kernel=kernel,
                         stride=stride, padding=padding, groups=groups, bias=bias)
    conv = CONV[dims](cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=bias)
    return e, conv


CASES = [  # (cin, cout, size, kernel, stride, padding, groups, bias, batch)
    (192, 32, (28, 28), 1, 1, 0, 1, True, 1),  # the Inception reduction people ask about
    (1, 16, (5, 7), 1, 1, 0, 1, True, 2),  # one input channel
    (8, 8, (6, 5), 1, 2, 0, 1, False, 3),  # Cin = Cout, stride, no bias
    (12, 6, (7, 7), 1, 1, 1, 3, True, 1),  # groups and padding on a 1x1
    (6, 6, (5,), 1, 1, 0, 6, True, 2),  # Conv1d, depthwise
    (3, 32, (4, 9, 9), 3, 1, 0, 1, True, 1),  # Conv3d 3x3x3
    (3, 32, (9, 9), 3, 2, 1, 1, True, 2),  # Conv2d 3x3, stride and padding
    (4, 6, (6, 7), (1, 3), (2, 1), (0, 1), 2, True, 1),  # per-axis everything
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}to{c[1]}_{c[2]}_k{c[3]}")
def test_against_torch_module(case):
    cin, cout, size, kernel, stride, padding, groups, bias, batch = case
    e, conv = _explain_and_module(cin, cout, size, kernel, stride, padding, groups, bias, batch)
    x = torch.randn((batch, cin) + size)
    with FlopCounterMode(display=False) as counter:
        y = conv(x)
    assert e.weights.params == sum(p.numel() for p in conv.parameters())
    assert e.weights.params_without_bias == conv.weight.numel()
    assert e.weights.params_with_bias == conv.weight.numel() + cout
    assert e.weights.pytorch_shape == tuple(conv.weight.shape)
    assert e.weights.keras_shape == tuple(layouts.to_keras(conv.weight).shape)
    assert e.cost.flops == counter.get_total_flops()  # torch counts 2 per multiply-add
    assert e.cost.macs * 2 == e.cost.flops
    assert e.layer.output_shape_nchw == tuple(y.shape)
    assert e.cost.output_elements == y.numel()


@pytest.mark.parametrize("case", CASES[1:], ids=lambda c: f"{c[0]}to{c[1]}_{c[2]}_k{c[3]}")
def test_whole_image_matrix_is_the_layer(case):
    """Build the whole-image matrix for real: its shape, non-zeros and product match torch."""
    cin, cout, size, kernel, stride, padding, groups, bias, batch = case
    e, conv = _explain_and_module(cin, cout, size, kernel, stride, padding, groups, False, batch)
    w = conv.weight.detach().double().numpy()
    m = toeplitz_matrix(w, size, e.layer.stride, e.layer.padding, groups)
    assert m.shape == e.whole_image.shape
    assert m.nnz == e.whole_image.nonzeros  # randn weights: no zero entries
    x = torch.randn((1, cin) + size, dtype=torch.float64)
    y = conv.double()(x).detach().numpy().reshape(-1)
    np.testing.assert_allclose(m @ x.numpy().reshape(-1), y, rtol=1e-10, atol=1e-10)
    assert e.whole_image.entries == prod(m.shape)


def test_plain_1x1_whole_image_is_kron():
    e, conv = _explain_and_module(5, 3, (4, 6))
    w = conv.weight.detach().double().numpy()
    kron = whole_image_matrix(w.reshape(3, 5), 24)
    assert kron.shape == e.whole_image.shape and kron.nnz == e.whole_image.nonzeros
    assert (kron != toeplitz_matrix(w, (4, 6))).nnz == 0
    assert e.whole_image.structure.startswith("kron(W, I_P)")


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}to{c[1]}_{c[2]}_k{c[3]}")
def test_gemm_shapes_compute_the_conv(case):
    """The channels-last product, with the reported shapes, gives torch's output."""
    cin, cout, size, kernel, stride, padding, groups, bias, batch = case
    e, conv = _explain_and_module(cin, cout, size, kernel, stride, padding, groups, False, batch)
    x = torch.randn((batch, cin) + size, dtype=torch.float64)
    conv = conv.double()
    patches = _im2col(x, e.layer)  # (N*P, Cin*K), columns grouped by channel
    assert patches.shape[0] == e.matrix.im2col_shape[0]
    g, p = groups, e.matrix.channels_last
    outs = []
    for i in range(g):
        left = patches[:, i * p.left[1]:(i + 1) * p.left[1]]
        right = conv.weight[i * p.right[1]:(i + 1) * p.right[1]].reshape(p.right[1], -1).T
        assert tuple(left.shape) == p.left and tuple(right.shape) == p.right
        outs.append(left @ right)
    y = torch.cat(outs, dim=1)  # (N*P, Cout)
    expected = conv(x).movedim(1, -1).reshape(-1, cout)
    torch.testing.assert_close(y, expected.detach())
    first = e.matrix.channels_first
    assert first.count == batch * groups and first.left == (cout // g, p.left[1])


def _im2col(x, L):
    """Patches by explicit slicing: obviously the definition, slow but the shapes are tiny."""
    pads = [v for p in reversed(L.padding) for v in (p, p)]
    x = torch.nn.functional.pad(x, pads)
    n, c = x.shape[:2]
    rows = []
    for out in np.ndindex(*L.output_size):
        taps = []
        for tap in np.ndindex(*L.kernel):
            idx = tuple(o * s + t for o, s, t in zip(out, L.stride, tap))
            taps.append(x[(slice(None), slice(None)) + idx])  # (N, C)
        rows.append(torch.stack(taps, dim=-1).reshape(n, -1))  # (N, C*K), channel-major
    return torch.stack(rows, dim=1).reshape(-1, rows[0].shape[1])


@settings(max_examples=25, derandomize=True, deadline=None)
@given(
    dims=st.integers(1, 3), cin_g=st.integers(1, 4), cout_g=st.integers(1, 4),
    groups=st.integers(1, 3), kernel=st.integers(1, 3), stride=st.integers(1, 3),
    padding=st.integers(0, 1), extra=st.integers(0, 4), bias=st.booleans(),
)
def test_random_layers_match_torch(dims, cin_g, cout_g, groups, kernel, stride, padding, extra,
                                   bias):
    size = (kernel + extra,) * dims
    e, conv = _explain_and_module(cin_g * groups, cout_g * groups, size, kernel, stride, padding,
                                  groups, bias)
    with FlopCounterMode(display=False) as counter:
        y = conv(torch.randn((1, cin_g * groups) + size))
    assert e.weights.params == sum(p.numel() for p in conv.parameters())
    assert e.cost.flops == counter.get_total_flops()
    assert e.layer.output_shape_nchw == tuple(y.shape)
    m = toeplitz_matrix(conv.weight.detach().numpy(), size, stride, padding, groups)
    assert m.shape == e.whole_image.shape and m.nnz == e.whole_image.nonzeros


def test_kernel_counts_conv2d_vs_conv3d():
    """'How many kernels does Conv2D(32, 3x3) on 3 channels use, and Conv3D?'"""
    two = onebyone.explain("32x32x3", filters=32, kernel=3)
    three = onebyone.explain("16x32x32x3", filters=32, kernel=3, dims=3)
    assert (two.weights.filters, two.weights.kernels, two.weights.slices_2d) == (32, 96, 96)
    assert two.weights.params_with_bias == 896
    assert (three.weights.kernels, three.weights.slices_2d) == (96, 288)
    assert three.weights.params_with_bias == 32 * 3 * 27 + 32
    conv2d = sum(p.numel() for p in torch.nn.Conv2d(3, 32, 3).parameters())
    conv3d = sum(p.numel() for p in torch.nn.Conv3d(3, 32, 3).parameters())
    note = {n.key: n.text for n in three.notes}["dims"]
    assert f"= {conv2d:,} parameters, against {conv3d:,} here (288 2-D slices" in note


def test_padding_only_output_has_no_nonzeros():
    e = onebyone.explain("1x1x2", filters=3, padding=5, stride=7)  # reads padding only
    assert e.layer.output_size == (2, 2) and e.whole_image.nonzeros == 0
    assert e.whole_image.entries_per_nonzero is None
    m = toeplitz_matrix(np.ones((3, 2, 1, 1)), (1, 1), stride=7, padding=5)
    assert m.shape == e.whole_image.shape and m.nnz == 0


def test_layouts_read_the_same_layer():
    a = onebyone.explain("28x28x192", filters=32)
    b = onebyone.explain("1,192,28,28", filters=32, layout="nchw")
    c = onebyone.explain("2,28,28,192", filters=32, layout="nhwc")
    assert a == b
    assert c.layer.batch == 2 and c.layer.input_size == (28, 28) and c.layer.in_channels == 192


def test_roofline_is_consistent():
    e = onebyone.explain("56x56x64", filters=256)
    r = e.roofline
    elements = 64 * 56 * 56 + 256 * 64 + 256 + 256 * 56 * 56
    assert r.bytes_moved == 4 * elements
    assert r.intensity == pytest.approx(e.cost.flops / r.bytes_moved)
    assert r.bound == ("memory" if r.intensity < r.peak_flops / r.peak_bandwidth else "compute")
    assert r.peaks_source.startswith("assumed")
