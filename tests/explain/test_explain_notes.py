"""Every claim the notes make, checked against a measurement made here on a real conv.

The notes are sentences; these tests read the numbers out of the sentences and measure them:
which input pixels a conv reads (by autograd), how many multiply-adds an output pixel costs
(torch's FLOP counter), whether a strided conv equals subsampling first (by running both), and
which output pixels see only padding (their output is exactly the bias).
"""
import re
from math import prod

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

import onebyone
from onebyone.explanation.text import to_text

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _layer(dims, cin_g, cout_g, groups, kernel, stride, padding, size, seed=0):
    """The explanation and a real (weight, bias) for the same layer, weights all > 0."""
    cin, cout = cin_g * groups, cout_g * groups
    e = onebyone.explain((1, cin) + size, filters=cout, dims=dims, kernel=kernel, stride=stride,
                         padding=padding, groups=groups)
    gen = torch.Generator().manual_seed(seed)
    # Positive weights: a read pixel always moves the output, so the gradient sees every read.
    w = torch.rand((cout, cin_g) + (kernel,) * dims, generator=gen, dtype=torch.float64) + 0.5
    b = torch.randn(cout, generator=gen, dtype=torch.float64)
    return e, w, b


def _notes(e):
    return {n.key: n.text for n in e.notes}


def _number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in {text!r}"
    return int(match.group(1).replace(",", ""))


layers = st.builds(
    lambda dims, cin_g, cout_g, groups, kernel, stride, padding, extra: dict(
        dims=dims, cin_g=cin_g, cout_g=cout_g, groups=groups, kernel=kernel, stride=stride,
        padding=padding, size=tuple(kernel + e for e in extra[:dims])),
    dims=st.integers(1, 3), cin_g=st.integers(1, 3), cout_g=st.integers(1, 3),
    groups=st.integers(1, 4), kernel=st.sampled_from([1, 1, 2, 3]), stride=st.integers(1, 4),
    padding=st.integers(0, 3), extra=st.lists(st.integers(0, 6), min_size=3, max_size=3),
)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(spec=layers)
def test_never_read_pixels_are_measured_by_autograd(spec):
    e, w, b = _layer(**spec)
    x = torch.randn(e.layer.input_shape_nchw, dtype=torch.float64, requires_grad=True)
    CONV[spec["dims"]](x, w, b, stride=spec["stride"], padding=spec["padding"],
                       groups=spec["groups"]).sum().backward()
    read = int((x.grad.abs().sum(dim=(0, 1)) > 0).sum())  # pixels some output depends on
    total = prod(spec["size"])
    note = _notes(e).get("stride")
    if spec["stride"] == 1:
        assert note is None
    elif read == total:
        assert "never read" not in note, note
    else:
        assert _number(r"([\d,]+) of the [\d,]+ input pixels", note) == total - read
        assert f"of the {total:,} input pixels ({(total - read) / total:.1%})" in note


@settings(max_examples=60, derandomize=True, deadline=None)
@given(spec=layers)
def test_macs_per_output_pixel_are_the_ops_total(spec):
    e, w, b = _layer(**spec)
    x = torch.randn(e.layer.input_shape_nchw, dtype=torch.float64)
    with FlopCounterMode(display=False) as counter:
        y = CONV[spec["dims"]](x, w, None, stride=spec["stride"], padding=spec["padding"],
                               groups=spec["groups"])
    per_pixel = counter.get_total_flops() // 2 // prod(y.shape[2:])
    notes = _notes(e)
    checked = 0
    for key in ("cin_eq_cout", "groups"):
        if key in notes:
            assert _number(r"([\d,]+) multiply-adds? per output pixel", notes[key]) == per_pixel
            checked += 1
    if spec["groups"] > 1:
        assert checked >= 1 and f"{per_pixel // spec['groups']:,} in each" in notes["groups"]
    assert e.cost.macs == per_pixel * prod(y.shape[2:])
    text = to_text(e, width=400)  # wide: a table cell must not wrap inside the phrase
    assert f"{per_pixel:,} MACs = Cin/groups x Cout x kernel" in text
    if spec["groups"] > 1:
        assert f"= {counter.get_total_flops() // 2:,} MACs in all" in text


@settings(max_examples=60, derandomize=True, deadline=None)
@given(spec=layers.filter(lambda s: s["kernel"] == 1))
def test_subsampling_claim_is_what_running_both_gives(spec):
    """onebyone.conv1x1 with the stride and padding, against slicing first then a stride-1 op."""
    e, w, b = _layer(**spec)
    dims, s, p, g = spec["dims"], spec["stride"], spec["padding"], spec["groups"]
    x = torch.randn(e.layer.input_shape_nchw, dtype=torch.float64)

    def conv(x, w, b, stride=1, padding=0, groups=1):
        return onebyone.conv1x1(x, w, b, stride=stride, padding=padding, groups=groups)

    y = conv(x, w, b, stride=s, padding=p, groups=g)
    torch.testing.assert_close(y, CONV[dims](x, w, b, stride=s, padding=p, groups=g))
    every = (slice(None), slice(None)) + (slice(None, None, s),) * dims
    subsampled_first = conv(x[every], w, b, groups=g)
    # Equal up to float64 rounding: the two calls may sum the channels in different orders.
    same = y.shape == subsampled_first.shape and torch.allclose(y, subsampled_first, rtol=1e-12,
                                                                atol=1e-12)
    note = _notes(e).get("stride", "")
    assert ("It equals subsampling first, x[::s]" in note) == (same and s > 1), note
    if s > 1 and p:  # the note's claim with padding: pad, then subsample the padded grid
        padded = F.pad(x, (p, p) * dims)[every]
        assert "zero-padding by" in note
        torch.testing.assert_close(conv(padded, w, b, groups=g), y, rtol=1e-12, atol=1e-12)
        assert f"gives {'x'.join(map(str, subsampled_first.shape[2:]))} and" in note


@settings(max_examples=40, derandomize=True, deadline=None)
@given(spec=layers.filter(lambda s: s["kernel"] == 1 and s["padding"] > 0))
def test_outputs_that_read_only_padding_are_the_bias(spec):
    e, w, b = _layer(**spec)
    dims = spec["dims"]
    x = torch.randn(e.layer.input_shape_nchw, dtype=torch.float64) + 10  # never cancels to 0
    y = CONV[dims](x, w, b, stride=spec["stride"], padding=spec["padding"],
                   groups=spec["groups"])
    bias_only = (y == b.reshape((1, -1) + (1,) * dims)).all(dim=1)[0]  # (spatial) output pixels
    note = _notes(e)["padding"]
    assert _number(r"([\d,]+) of the [\d,]+ output pixels", note) == int(bias_only.sum())


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_change_of_basis_only_for_an_invertible_w(groups):
    """A rank-deficient W loses channels for good: the note must not call it a change of basis."""
    e = onebyone.explain("6x6x8", filters=8, groups=groups)
    note = _notes(e)["cin_eq_cout"]
    assert "only when W is invertible" in note
    cin_g = 8 // groups
    w = torch.randn(8, cin_g, dtype=torch.float64)
    w[1] = w[0]  # two equal filters: rank cin_g - 1 in the first group
    blocks = torch.block_diag(*w.split(cin_g))
    assert int(torch.linalg.matrix_rank(blocks)) < 8  # not invertible, so not a change of basis
    assert f"rank {cin_g}" in note


def test_roofline_verdict_only_from_measured_peaks():
    from onebyone.explanation.text import to_text

    assumed = onebyone.explain("56x56x64", filters=256)
    assert not assumed.roofline.peaks_measured
    text = to_text(assumed)
    assert "verdict " not in text.replace("gives a verdict", "") and "assumption" in text
    measured = onebyone.explain("8x8x16", filters=8, measure=True)
    assert measured.roofline.peaks_measured and "verdict" in to_text(measured)


def test_the_reported_layer_in_numbers():
    """7x7x16, stride 2, padding 1: 40 of 49 pixels never read; not conv(x[::2, ::2])."""
    text = _notes(onebyone.explain("7x7x16", filters=8, stride=2, padding=1))["stride"]
    assert "40 of the 49 input pixels (81.6%) are never read" in text
    assert "x[::s] without the padding gives 4x4" in text
    groups = _notes(onebyone.explain("28x28x64", filters=64, groups=4))
    assert "1,024 multiply-adds per output pixel (256 in each of the 4 groups)" in \
        groups["cin_eq_cout"]


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_the_filter_and_the_elementwise_product_have_the_layers_shape(dims):
    """A Conv3d's filter is 1x1x1xC and a Conv1d's 1xC: the note names torch's filter shape
    (in Keras order), and x * that filter really keeps the channels."""
    size = (5, 4, 3)[:dims]
    e = onebyone.explain((1, 6) + size, filters=2, dims=dims)
    note = _notes(e)["channel_mixing"]
    conv = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[dims](6, 2, 1)
    one_filter = conv.weight[0].permute(*range(1, dims + 1), 0)  # (*kernel, C), Keras order
    stated = re.search(r"filters is a ([\dx]+) vector", note).group(1)
    assert stated == "x".join(map(str, one_filter.shape))
    by = re.search(r"torch\.mul of ([\dx]+) by ([\dx]+)\)", note)
    x = torch.randn(*map(int, by.group(1).split("x")))
    w = torch.randn(*map(int, by.group(2).split("x")))
    assert w.shape == one_filter.shape and (x * w).shape == x.shape


@pytest.mark.parametrize("cin, cout", [(8, 8), (8, 16), (4, 12)])
def test_depthwise_note_counts_the_filters_on_each_channel(cin, cout):
    """groups = Cin with a channel multiplier: count, in torch's grouped weight laid out as a
    full (Cout, Cin) matrix, how many filters read each input channel."""
    note = _notes(onebyone.explain(f"6x6x{cin}", filters=cout, groups=cin))["groups"]
    conv = torch.nn.Conv2d(cin, cout, 1, groups=cin)
    w = conv.weight.detach().reshape(cin, cout // cin)  # group g: its filters, one channel each
    full = torch.block_diag(*(col.reshape(-1, 1) for col in w))  # (Cout, Cin)
    per_channel = {int(n) for n in (full != 0).sum(dim=0)}
    assert len(per_channel) == 1
    n = per_channel.pop()
    assert f"depthwise: {n} filter{'s' if n > 1 else ''} per input channel" in note, note


@pytest.mark.parametrize("cin, cout, groups", [(1, 16, 1), (8, 16, 8), (6, 6, 3), (3, 2, 1)])
def test_mixing_is_claimed_only_where_an_output_reads_several_channels(cin, cout, groups):
    """By autograd: how many input channels one output channel depends on."""
    note = _notes(onebyone.explain(f"5x4x{cin}", filters=cout, groups=groups))["channel_mixing"]
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(cin, cout, 1, groups=groups).double()
    with torch.no_grad():
        conv.weight.copy_(conv.weight.abs() + 0.1)  # every weight moves its output
    x = torch.randn(1, cin, 5, 4, dtype=torch.float64, requires_grad=True)
    conv(x)[0, cout - 1].sum().backward()
    channels_read = int((x.grad.abs().sum(dim=(0, 2, 3)) > 0).sum())
    assert ("mixes its channels" in note) == (channels_read > 1), note
    assert ("mixes no channels" in note) == (channels_read == 1), note
