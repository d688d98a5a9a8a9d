"""SelfAttention2d: the attention is a softmax per position, gamma = 0 is the identity, and the
block traces with torch.fx with f, g, h as three separate 1x1 convs of the same tensor."""
import torch
import torch.fx
from torch import nn

from onebyone.blocks import SelfAttention2d
from onebyone.nn import Conv1x1


def _block(**kwargs):
    torch.manual_seed(0)
    block = SelfAttention2d(16, **kwargs)
    nn.init.constant_(block.gamma, 0.7)
    return block


def test_attention_rows_are_distributions():
    block = _block()
    beta = block.attention(torch.randn(2, 16, 7, 5))
    assert beta.shape == (2, 35, 35)
    assert (beta >= 0).all()
    torch.testing.assert_close(beta.sum(-1), torch.ones(2, 35))


def test_gamma_zero_is_the_identity():
    block = SelfAttention2d(16)
    assert block.gamma.item() == 0.0  # the paper initialises gamma to 0
    x = torch.randn(2, 16, 7, 5)
    assert torch.equal(block(x), x)


def test_forward_matches_the_paper_position_by_position():
    # o_j = sum_i beta_ji h(x_i), y_j = gamma o_j + x_j, with beta_j = softmax_i f(x_i).g(x_j).
    block = _block(value_channels=4).double()
    x = torch.randn(1, 16, 3, 2, dtype=torch.float64)
    pixels = x[0].flatten(1).T                           # (L, C): one row per position
    f = pixels @ block.f.weight[:, :, 0, 0].T + block.f.bias
    g = pixels @ block.g.weight[:, :, 0, 0].T + block.g.bias
    h = pixels @ block.h.weight[:, :, 0, 0].T + block.h.bias
    rows = []
    for j in range(pixels.shape[0]):
        beta_j = torch.softmax(torch.stack([f[i] @ g[j] for i in range(len(f))]), 0)
        o_j = sum(beta_j[i] * h[i] for i in range(len(h)))
        o_j = block.v.weight[:, :, 0, 0] @ o_j + block.v.bias
        rows.append(block.gamma * o_j + pixels[j])
    expected = torch.stack(rows).T.reshape(1, 16, 3, 2)
    torch.testing.assert_close(block(x), expected)


def test_f_g_h_are_separate_conv1x1_reading_the_same_input():
    block = _block()
    assert all(isinstance(getattr(block, n), Conv1x1) for n in "fgh")
    assert len({id(block.f), id(block.g), id(block.h)}) == 3
    assert block.f.out_channels == block.g.out_channels == 16 // 8  # the paper's C/8
    assert block.h.out_channels == 16
    seen = {}
    hooks = [getattr(block, n).register_forward_hook(
        lambda m, inp, out, n=n: seen.__setitem__(n, inp[0])) for n in "fgh"]
    x = torch.randn(1, 16, 4, 4)
    block(x)
    for hook in hooks:
        hook.remove()
    assert all(seen[n] is x for n in "fgh")


def test_symbolic_trace_gives_the_same_output():
    block = _block(value_channels=4)
    traced = torch.fx.symbolic_trace(block)
    x = torch.randn(2, 16, 7, 5)
    torch.testing.assert_close(traced(x), block(x))
    # The traced graph still has the three projections of x, each once.
    convs = [n for n in traced.graph.nodes if "conv1x1" in str(n.target)]
    inputs = [n.args[0].name for n in convs]
    assert inputs.count("x") == 3 and len(convs) == 4  # f, g, h on x; v on the attention output


def test_gradient_of_gamma_at_zero_is_nonzero():
    # Training can move gamma away from 0 even though the block starts as the identity.
    block = SelfAttention2d(16)
    x = torch.randn(2, 16, 4, 4)
    (block(x) * torch.randn_like(x)).sum().backward()
    assert block.gamma.grad.abs().item() > 0
