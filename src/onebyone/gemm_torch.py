"""The torch fast path: the 1x1 conv as one GEMM in the input's own memory layout.

Forward and backward are each one or two GEMMs, with no copies for contiguous inputs:

  rows (channels-last memory, or one pixel per image): X is (M, Cin) with M = N*P
      Y  = X @ W^T + b            F.linear, bias fused       (M, Cin) @ (Cin, Cout)
      dX = dY @ W,  dW = dY^T @ X                            F.linear's own backward
  columns (contiguous NC..., several pixels): X is (N, Cin, P)
      Y  = W @ X + b              addmm / baddbmm, bias fused (Cout, Cin) @ (N, Cin, P)
      dX = W^T @ dY                                          (Cin, Cout) @ (N, Cout, P)
      dW = sum_n dY_n @ X_n^T                                (N, Cout, P) @ (N, P, Cin)

Plain autograd through the columns product is slower (it materialises the weight expanded
over the batch), so that backward is written out here and gradient-checked in
tests/test_fast.py. The autograd Function takes and returns whole (N, C, P) tensors; the
reshapes around it stay outside, so its output is not a view and in-place ops after it
(torchvision's ReLU(inplace=True)) work.
"""
import math

import torch
import torch.nn.functional as F

from ._arrays import channels_last_in_memory


def applies(call, x) -> bool:
    """Whether this GEMM computes the call exactly (else the generic formulations do)."""
    return (call.groups == 1 and not any(call.padding) and x.device.type == "cpu"
            and x.dtype in (torch.float32, torch.float64))


def uses_rows(x) -> bool:
    """Multiply pixel rows (channels fastest in memory) rather than channel columns."""
    return channels_last_in_memory(x) or math.prod(x.shape[2:]) == 1


def gemm_for(x, stride, grad):
    """f(x, w, bias) for calls shaped like x (a channels-first view), w a (Cout, Cin) matrix.

    Only for what `applies` accepts: padding 0, groups 1, float32/float64 on the CPU.
    """
    subsample = any(s != 1 for s in stride)
    # Subsample first: the product then touches only the pixels that are kept.
    keep = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)
    kept = x[keep]
    if math.prod(kept.shape[2:]) == 1:
        forward = _pointwise  # squeeze-excitation, global-pool heads: a plain linear layer
    elif uses_rows(kept):
        forward = _forward_rows
    else:
        forward = _columns_with_backward if grad else _forward_columns
    if subsample:
        return lambda x, w, bias: forward(x[keep], w, bias)
    return forward


def _pointwise(x, w, bias):
    n, _, *spatial = x.shape
    return F.linear(x.reshape(n, x.shape[1]), w, bias).view(n, w.shape[0], *spatial)


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
    n, _, *spatial = x.shape
    return _product(_columns(x.contiguous()), w, bias).view(n, w.shape[0], *spatial)


def _product(cols, w, bias):
    """W @ X + b over (N, Cin, P) columns, the bias fused into the GEMM."""
    # One batched GEMM (a single GEMM at N = 1); its result is a fresh tensor, never a view.
    wb = w.expand(cols.shape[0], *w.shape)  # (N, Cout, Cin), batch stride 0: no copy
    return torch.bmm(wb, cols) if bias is None else torch.baddbmm(bias[None, :, None], wb, cols)


def _columns_with_backward(x, w, bias):
    n, _, *spatial = x.shape
    y = _Columns.apply(_columns(x.contiguous()), w, bias)
    return y.view(n, w.shape[0], *spatial)


class _Columns(torch.autograd.Function):
    """Y = W @ X + b on (N, Cin, P) columns, with the backward as GEMMs (see the module doc)."""

    @staticmethod
    def forward(ctx, cols, w, bias):
        ctx.save_for_backward(cols, w)
        ctx.has_bias = bias is not None
        return _product(cols, w, bias)

    @staticmethod
    def backward(ctx, grad):
        cols, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        g = grad.contiguous()  # (N, Cout, P)
        gx = torch.matmul(w.t(), g) if need_x else None
        gw = None
        if need_w:
            gw = g[0] @ cols[0].t() if len(g) == 1 else torch.bmm(g, cols.transpose(1, 2)).sum(0)
        gb = g.sum((0, 2)) if need_b and ctx.has_bias else None
        return gx, gw, gb
