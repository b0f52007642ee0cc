"""Generic fused attention projections (QKV in, output + residual out), forward and backward, from primitives.

QKV: ``y = x @ w_qkv^T (+ b_qkv)`` ``[B, S, (H + 2 Hkv) D]``, viewed ``[B, S, H + 2 Hkv, D]`` and
split along the head axis into q (heads ``0..H-1``), k (next ``Hkv``) and v (last ``Hkv``), each
moved to ``[B, heads, S, D]``. Backward: the three gradients are moved back and concatenated
into ``dy``, then ``dx = dy @ w_qkv``, ``dw = dy^T x`` (summed over B and S), ``db = sum dy``.
Output: ``a = attn`` moved to ``[B, S, H D]``, ``y = a @ w_o^T (+ b_o) + residual``. Backward:
``da = dy @ w_o`` (moved back to ``[B, H, S, D]``), ``dw_o = dy^T a``, ``db_o = sum dy``,
``dresidual = dy``. Matmuls accumulate in f32 for half types (the matmul contract).
"""

from __future__ import annotations

from typing import Any

from ...tensor import Tensor


def _rows(c: Any, x: Tensor) -> Tensor:
    """``[B, S, N]`` as contiguous ``[B * S, N]``."""
    return c.contiguous(x).reshape(x.shape[0] * x.shape[1], x.shape[2])


def _heads_to_seq(c: Any, t: Tensor) -> Tensor:
    """``[B, H, S, D]`` -> contiguous ``[B, S, H, D]``."""
    return c.contiguous(t.permute(0, 2, 1, 3))


def qkv_projection(
    c: Any, x: Tensor, w: Tensor, b: Tensor | None, h: int, hkv: int, d: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Returns contiguous q ``[B, H, S, D]``, k and v ``[B, Hkv, S, D]`` in x's dtype."""
    bsz, s, _ = x.shape
    y = c.matmul(x, w.transpose(0, 1))
    if b is not None:
        y = c.add(y, b)
    y4 = y.reshape(bsz, s, h + 2 * hkv, d)
    parts = (y4.narrow(2, 0, h), y4.narrow(2, h, hkv), y4.narrow(2, h + hkv, hkv))
    q, k, v = (c.contiguous(p.permute(0, 2, 1, 3)) for p in parts)
    return q, k, v


def qkv_projection_bwd(
    c: Any, dq: Tensor, dk: Tensor, dv: Tensor, x: Tensor, w: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Returns (dx ``[B, S, d_model]``, dw ``[(H + 2 Hkv) D, d_model]``, db ``[(H + 2 Hkv) D]``)."""
    bsz, s = x.shape[:2]
    dy = c.cat([_heads_to_seq(c, t) for t in (dq, dk, dv)], 2).reshape(bsz, s, -1)
    dx = c.matmul(dy, w)
    dy2 = dy.reshape(bsz * s, dy.shape[2])
    dw = c.matmul(dy2.transpose(0, 1), _rows(c, x))
    db = c.sum(dy2, 0)
    return c.cast(dx, x.dtype), c.cast(dw, w.dtype), c.cast(db, w.dtype)


def output_projection(c: Any, attn: Tensor, w: Tensor, residual: Tensor, b: Tensor | None) -> Tensor:
    """Returns ``[B, S, d_model]`` in attn's dtype."""
    bsz, h, s, d = attn.shape
    a = _heads_to_seq(c, attn).reshape(bsz, s, h * d)
    y = c.matmul(a, w.transpose(0, 1))
    if b is not None:
        y = c.add(y, b)
    return c.cast(c.add(y, residual), attn.dtype)


def output_projection_bwd(c: Any, dout: Tensor, attn: Tensor, w: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Returns (dattn ``[B, H, S, D]``, dw_o ``[d_model, H D]``, db_o ``[d_model]``, dresidual = dout)."""
    bsz, h, s, d = attn.shape
    da = c.matmul(dout, w).reshape(bsz, s, h, d)
    a2 = _heads_to_seq(c, attn).reshape(bsz * s, h * d)
    dy2 = _rows(c, dout)
    dw = c.matmul(dy2.transpose(0, 1), a2)
    db = c.sum(dy2, 0)
    dattn = c.contiguous(da.permute(0, 2, 1, 3))
    return c.cast(dattn, attn.dtype), c.cast(dw, w.dtype), c.cast(db, w.dtype), dout
