"""The torch fast path: the 1x1 conv as one GEMM in the input's own memory layout.

Forward and backward are each one or two GEMMs, with no copies for contiguous inputs:

  rows (channels-last memory, or one pixel per image): X is (M, Cin) with M = N*P
      Y  = X @ W^T + b            F.linear, bias fused       (M, Cin) @ (Cin, Cout)
      dX = dY @ W                                            (M, Cout) @ (Cout, Cin)
      dW = dY^T @ X                                          (Cout, M) @ (M, Cin)
  columns (contiguous NC..., several pixels): X is (N, Cin, P)
      Y  = W @ X + b              addmm / baddbmm, bias fused (Cout, Cin) @ (N, Cin, P)
      dX = W^T @ dY                                          (Cin, Cout) @ (N, Cout, P)
      dW = sum_n dY_n @ X_n^T                                (N, Cout, P) @ (N, P, Cin)

Plain autograd through the same products is slower (it materialises expanded weights), so
the backward is written out here, and gradient-checked in tests/test_fast.py.
"""
import math

import torch
import torch.nn.functional as F

from ._arrays import channels_last_in_memory


def uses_rows(x) -> bool:
    """Multiply pixel rows (channels fastest in memory) rather than channel columns."""
    return channels_last_in_memory(x) or math.prod(x.shape[2:]) == 1


def runner(x, stride, grad):
    """f(x, w, bias) for calls shaped like x (channels-first view); padding 0, groups 1."""
    subsample = any(s != 1 for s in stride)
    # Subsample first: the product then touches only the pixels that are kept.
    keep = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)
    if grad:
        if subsample:
            return lambda x, w, bias: _Gemm1x1.apply(x[keep], w, bias)
        return _Gemm1x1.apply
    if math.prod(x[keep].shape[2:]) == 1:
        # One pixel per image (squeeze-excitation, global-pool heads): a plain linear layer.
        def pointwise(x, w, bias):
            x = x[keep] if subsample else x
            return F.linear(x.reshape(x.shape[0], x.shape[1]), w, bias).view(
                x.shape[0], w.shape[0], *x.shape[2:])
        return pointwise
    forward = _forward_rows if uses_rows(x[keep]) else _forward_columns
    if subsample:
        return lambda x, w, bias: forward(x[keep], w, bias)
    return forward


def _rows(t):
    """(N, C, *S) -> (N*P, C): a view when channels are fastest in memory, else a copy."""
    return t.movedim(1, -1).reshape(t.shape[0] * math.prod(t.shape[2:]), t.shape[1])


def _columns(t):
    """(N, C, *S) -> (N, C, P): a view when t is contiguous, else a copy."""
    return t.reshape(t.shape[0], t.shape[1], math.prod(t.shape[2:]))


def _from_rows(rows, like, channels):
    # (N*P, C) -> (N, C, *S) laid out channels-last in memory (a view, no copy).
    n, _, *spatial = like.shape
    return rows.view(n, *spatial, channels).movedim(-1, 1)


def _forward_rows(x, w, bias):
    return _from_rows(F.linear(_rows(x), w, bias), x, w.shape[0])


def _forward_columns(x, w, bias):
    x = x.contiguous()
    n, _, *spatial = x.shape
    cols = _columns(x)  # (N, Cin, P)
    if n == 1:
        y = w @ cols[0] if bias is None else torch.addmm(bias[:, None], w, cols[0])
    elif bias is None:
        y = torch.matmul(w, cols)
    else:
        y = torch.baddbmm(bias[None, :, None], w.expand(n, *w.shape), cols)
    return y.view(n, w.shape[0], *spatial)


class _Gemm1x1(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, bias):
        rows = uses_rows(x)
        if not rows:
            x = x.contiguous()
        ctx.rows = rows
        ctx.save_for_backward(x, w)
        ctx.has_bias = bias is not None
        return (_forward_rows if rows else _forward_columns)(x, w, bias)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        gx = gw = gb = None
        if ctx.rows:
            g = _rows(grad)  # (M, Cout)
            if need_x:
                gx = _from_rows(g @ w, x, w.shape[1])
            if need_w:
                gw = g.t() @ _rows(x)
            if need_b:
                gb = g.sum(0)
        else:
            g = _columns(grad)  # (N, Cout, P)
            xc = _columns(x)
            if need_x:
                gx = torch.matmul(w.t(), g).view(x.shape)
            if need_w:
                gw = g[0] @ xc[0].t() if len(g) == 1 else torch.bmm(g, xc.transpose(1, 2)).sum(0)
            if need_b:
                gb = g.sum((0, 2))
        return gx, gw, gb if ctx.has_bias else None
