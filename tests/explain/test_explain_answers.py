"""The answers in words come first and carry numbers measured here; the PyTorch code runs."""
import contextlib
import io
import re
from math import prod

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

import onebyone
from onebyone.explanation.text import to_text

CONVS = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
KEYS = {"matmul", "cin_eq_cout", "cin_one", "shrink", "conv2d_vs_conv3d", "filters_vs_kernels",
        "pointwise", "purpose", "linear_per_pixel"}


def _answers(e):
    return {a.key: a.answer for a in e.answers}


def _run(code):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<explain code>", "exec"), {})
    return out.getvalue()


@settings(max_examples=30, derandomize=True, deadline=None)
@given(dims=st.integers(1, 3), cin_g=st.integers(1, 3), cout_g=st.integers(1, 3),
       groups=st.integers(1, 3), kernel=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.integers(0, 2), extra=st.integers(0, 3), batch=st.integers(1, 2),
       bias=st.booleans())
def test_pytorch_code_runs_and_checks_itself(dims, cin_g, cout_g, groups, kernel, stride,
                                             padding, extra, batch, bias):
    e = onebyone.explain((batch, cin_g * groups) + (kernel + extra,) * dims,
                         filters=cout_g * groups, dims=dims, kernel=kernel, stride=stride,
                         padding=padding, groups=groups, bias=bias)
    assert _run(e.pytorch_code).endswith("all equal\n")
    p = e.matrix.channels_last  # the shapes the code multiplies are the ones the facts report
    assert f"({p.left[0]}, {p.left[1]}) @ ({p.right[0]}, {p.right[1]})" in e.pytorch_code
    # The check inside the code can fail: a wrong weight makes it raise.
    broken = e.pytorch_code.replace("torch.testing.assert_close(y2, y)",
                                    "torch.testing.assert_close(y2 + 1e-3, y)")
    with pytest.raises(AssertionError):
        _run(broken)


def test_code_for_a_1x1_conv_shows_the_linear_layer():
    code = onebyone.explain("28x28x192", filters=32).pytorch_code
    assert "rows @ W.T + conv.bias  # (784, 192) @ (192, 32)" in code
    assert "torch.nn.Linear(192, 32, bias=True)" in code
    assert _run(code) == "1x1 conv == reshape + matmul == Linear at every pixel: all equal\n"


def test_keras_conv2d_32_3x3_on_64x64x3():
    """The question as asked: 32 filters or 96 kernels? Counted on torch's own layer."""
    answer = _answers(onebyone.explain("64x64x3", filters=32, kernel=3))["filters_vs_kernels"]
    conv = torch.nn.Conv2d(3, 32, 3)
    filters, per_filter = conv.weight.shape[:2]
    params = sum(p.numel() for p in conv.parameters())
    assert answer.startswith(f"{filters} filters, each made of {per_filter} kernels of 3x3: "
                             f"{filters * per_filter} kernels, {params} parameters")
    assert "Keras Conv2D(filters=32, kernel_size=3)" in answer and "(3, 3, 3, 32)" in answer


def test_conv3d_counts_are_torchs():
    answer = _answers(onebyone.explain("64x64x3", filters=32, kernel=3))["conv2d_vs_conv3d"]
    conv3d = sum(p.numel() for p in torch.nn.Conv3d(3, 32, 3).parameters())
    assert f"= {conv3d:,} parameters" in answer and "same 96 kernels" in answer


@pytest.mark.parametrize("groups", [1, 4])
def test_in_eq_out_macs_per_pixel_are_measured(groups):
    e = onebyone.explain("6x6x64", filters=64, groups=groups)
    conv = torch.nn.Conv2d(64, 64, 1, groups=groups)
    with FlopCounterMode(display=False) as counter:
        conv(torch.randn(1, 64, 6, 6))
    per_pixel = counter.get_total_flops() // 2 // 36
    assert re.search(rf"\b{per_pixel:,} multiply-adds? per output pixel", _answers(e)["cin_eq_cout"])
    assert e.answers[0].key in ("cin_eq_cout", "matmul") and e.answers[0].about_this_layer


def test_one_channel_outputs_are_scaled_copies_measured():
    e = onebyone.explain("28x28x1", filters=16)
    assert e.answers[0].key == "cin_one" and _answers(e)["cin_one"].startswith("Yes")
    conv = torch.nn.Conv2d(1, 16, 1)
    x = torch.rand(1, 1, 28, 28) + 0.5  # away from 0: the ratios below stay well conditioned
    y = (conv(x) - conv.bias.reshape(1, -1, 1, 1)).detach()  # (1, 16, 28, 28)
    ratios = y[0] / x[0]  # each output channel is the digit times one number
    scales = conv.weight.reshape(16, 1, 1).expand_as(ratios)
    assert torch.allclose(ratios, scales, rtol=1e-4, atol=1e-5)
    assert np.linalg.matrix_rank(y.reshape(16, -1).numpy(), tol=1e-4) == 1
    k3 = _answers(onebyone.explain("28x28x1", filters=16, kernel=3))["cin_one"]
    assert k3.startswith("No")


def test_matmul_answer_shapes_are_torchs():
    e = onebyone.explain("2,192,28,28", filters=32, layout="nchw")
    answer = _answers(e)["matmul"]
    y = torch.nn.Conv2d(192, 32, 1)(torch.randn(2, 192, 28, 28))
    rows = y.shape[0] * prod(y.shape[2:])
    assert answer.startswith(f"Yes: here it is exactly ({rows}, 192) @ (192, 32) -> ({rows}, 32)")


def test_shrink_answer_has_the_output_shape():
    e = onebyone.explain("28x28x192", filters=32)
    answer = _answers(e)["shrink"]
    y = torch.nn.Conv2d(192, 32, 1)(torch.randn(1, 192, 28, 28))
    assert f"28x28x192 becomes {y.shape[2]}x{y.shape[3]}x{y.shape[1]}" in answer


def test_every_question_is_answered_first_in_text_and_json():
    e = onebyone.explain("28x28x192", filters=32)
    assert {a.key for a in e.answers} == KEYS
    text = to_text(e)
    assert text.index("\nAnswers") < text.index("\nWeights") < text.index("\nPyTorch code")
    for a in e.answers:
        assert a.question in text
    words = " ".join(a.answer for a in e.answers)
    for term in ("pointwise", "Network in Network", "nn.Linear(192, 32)", "bottleneck",
                 "Keras Conv2D(filters=32, kernel_size=1)"):
        assert term in words, term
    doc = e.as_dict()
    assert [a["key"] for a in doc["answers"]] == [a.key for a in e.answers]
    assert re.search(r"^conv = torch\.nn\.Conv2d\(\n    192, 32,", doc["pytorch_code"], flags=re.M)


@settings(max_examples=40, derandomize=True, deadline=None)
@given(dims=st.integers(1, 3), cin_g=st.integers(1, 4), cout_g=st.integers(1, 4),
       groups=st.integers(1, 3), kernel=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.integers(0, 2), extra=st.integers(0, 4))
def test_answers_hold_on_a_sweep(dims, cin_g, cout_g, groups, kernel, stride, padding, extra):
    """Shapes, output sizes, counts and yes/no answers, against torch's own layer."""
    cin, cout, size = cin_g * groups, cout_g * groups, (kernel + extra,) * dims
    e = onebyone.explain((1, cin) + size, filters=cout, dims=dims, kernel=kernel, stride=stride,
                         padding=padding, groups=groups)
    conv = CONVS[dims](cin, cout, kernel, stride=stride, padding=padding, groups=groups)
    with FlopCounterMode(display=False) as counter:
        y = conv(torch.randn((1, cin) + size))
    a = _answers(e)
    out = "x".join(map(str, y.shape[2:]))
    assert f"becomes {out}x{cout}." in a["shrink"]
    p = e.matrix.channels_last
    assert f"{p.left} @ {p.right} -> {p.result}" in a["matmul"]
    assert p.count * p.left[0] * p.left[1] * p.right[1] == counter.get_total_flops() // 2
    params = sum(t.numel() for t in conv.parameters())
    assert re.search(rf"\b{conv.weight.shape[0] * conv.weight.shape[1]:,} kernels?, "
                     rf"{params:,} parameters", a["filters_vs_kernels"])
    assert a["cin_one"].startswith("Yes") == (cin_g == 1 and kernel == 1)
    assert a["linear_per_pixel"].startswith("Yes") == (kernel == 1)
    if kernel == 1 and cin == cout:
        per_pixel = counter.get_total_flops() // 2 // prod(y.shape[2:])
        assert re.search(rf"\b{per_pixel:,} multiply-adds? per output pixel", a["cin_eq_cout"])


@pytest.mark.parametrize("cin, cout, groups, bias", [
    (1, 16, 1, True), (1, 16, 1, False), (4, 8, 4, True), (8, 8, 8, False), (3, 6, 1, True)])
def test_scaled_copies_rank_is_the_outputs_measured_rank(cin, cout, groups, bias):
    """The rank the cin_one answer states is the rank of the real outputs stacked as
    (Cout, pixels), less the biases exactly when the sentence says so."""
    e = onebyone.explain(f"9x7x{cin}", filters=cout, groups=groups, bias=bias)
    answer = _answers(e)["cin_one"]
    stated = _number_after(r"have rank (?:at most )?(\d+)", answer)
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(cin, cout, 1, groups=groups, bias=bias).double()
    y = conv(torch.randn(1, cin, 9, 7, dtype=torch.float64)).detach()
    if "less their biases" in answer:
        y = y - conv.bias.detach().reshape(1, -1, 1, 1)
    elif bias:  # a sentence about outputs with their biases must hold with them
        assert "b[o]" in answer
    measured = int(torch.linalg.matrix_rank(y.reshape(cout, -1)))
    if cin // groups == 1:
        assert stated == measured, (answer, measured)
    else:  # 'Not here': the stated rank is about a one-channel layer, checked on one
        assert answer.startswith("Not here")


def _number_after(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in {text!r}"
    return int(match.group(1))


def test_no_copy_claims_are_what_torch_does():
    """The channels-last rows of one NCHW image are a view of it; a batch's rows are a copy
    (a view again when the tensor is channels_last). The answer and the im2col row say so."""
    def shares(a, b):
        return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()

    for n in (1, 3):
        e = onebyone.explain(f"{n},192,5,7", filters=32, layout="nchw")
        answer, text = _answers(e)["matmul"], to_text(e, width=400)
        x = torch.randn(n, 192, 5, 7)
        view = shares(x.permute(0, 2, 3, 1).reshape(n * 35, 192), x)
        assert view == (n == 1)
        assert ("no copy of any pixel" in answer) == view, answer
        assert ("reshaped, no copy" in text) == view
        if not view:
            last = x.to(memory_format=torch.channels_last)
            assert shares(last.permute(0, 2, 3, 1).reshape(n * 35, 192), last)
            assert "none for a channels_last tensor" in answer
            assert "one copy of the batch (none if channels_last)" in text
    one_d = _answers(onebyone.explain("50x4", filters=8, dims=1))["matmul"]
    assert "The 50 pixels are the rows" in one_d  # not '50 = 50'


@pytest.mark.parametrize("shape, options", [
    ("28x28x1", dict(filters=1)), ("28x28x1", dict(filters=1, kernel=3)),
    ("2x5x5x1", dict(filters=1, dims=3)), ("9x1", dict(filters=3, dims=1))])
def test_one_of_a_thing_is_singular(shape, options):
    """With one channel, filter or kernel the sentences say '1 channel', not '1 channels'."""
    text = to_text(onebyone.explain(shape, example=True, **options), width=400)
    plural_one = re.findall(r"(?<![\d,.x])1 (channels|multiply-adds|kernels|maps|filters)\b", text)
    assert plural_one == [], plural_one
