"""Generic variable-length (packed) attention: one ``flash_attention_fwd`` / ``_bwd`` per sequence.

Layout: q ``[Tq, H, D]``, k/v ``[Tk, Hkv, D]`` packed; sequence s holds rows
``cu_q[s]:cu_q[s+1]`` of q and ``cu_k[s]:cu_k[s+1]`` of k/v. Each sequence is viewed as
``[1, H, L, D]`` (a permuted view, no copy) and sent through the client's
``flash_attention_fwd`` (so a backend's fused flash kernel serves varlen too); causal masks
are bottom-right aligned per sequence. ``cu_q``/``cu_k`` are validated host-side ints.
The backward sends each sequence (with its lse columns ``lse[:, cu_q[s]:cu_q[s+1]]``) through
``flash_attention_bwd``; sequences without queries or keys leave zero gradients.
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor


def varlen_attention_fwd(
    c: Any, q: Tensor, k: Tensor, v: Tensor, cu_q: list[int], cu_k: list[int], causal: bool, scale: float
) -> tuple[Tensor, Tensor]:
    """Returns (out ``[Tq, H, D]`` in q's dtype, lse ``[H, Tq]`` f32; empty key sets give 0 / -inf)."""
    tq, h, d = q.shape
    out = c.zeros(tq, h, d, dtype=q.dtype)
    lse = c.full((h, tq), float("-inf"), _dt.f32)
    for s in range(len(cu_q) - 1):
        q0, q1, k0, k1 = cu_q[s], cu_q[s + 1], cu_k[s], cu_k[s + 1]
        if q1 == q0:
            continue
        qs = q.narrow(0, q0, q1 - q0).permute(1, 0, 2).unsqueeze(0)
        ks = k.narrow(0, k0, k1 - k0).permute(1, 0, 2).unsqueeze(0)
        vs = v.narrow(0, k0, k1 - k0).permute(1, 0, 2).unsqueeze(0)
        o, lv = c.flash_attention_fwd(qs, ks, vs, causal=causal, scale=scale)
        c.slice_assign(out.narrow(0, q0, q1 - q0), o[0].permute(1, 0, 2))
        c.slice_assign(lse.narrow(1, q0, q1 - q0), lv[0])
    return out, lse


def _seq(x: Tensor, a: int, b: int) -> Tensor:
    """Rows ``a:b`` of a packed ``[T, H, D]`` viewed as ``[1, H, b - a, D]`` (no copy)."""
    return x.narrow(0, a, b - a).permute(1, 0, 2).unsqueeze(0)


def varlen_attention_bwd(
    c: Any, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, cu_q: list[int],
    cu_k: list[int], causal: bool, scale: float,
) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """Returns (dq ``[Tq, H, D]``, dk, dv ``[Tk, Hkv, D]``) in the dtypes of q, k, v."""
    dq = c.zeros(*q.shape, dtype=q.dtype)
    dk = c.zeros(*k.shape, dtype=k.dtype)
    dv = c.zeros(*v.shape, dtype=v.dtype)
    for s in range(len(cu_q) - 1):
        q0, q1, k0, k1 = cu_q[s], cu_q[s + 1], cu_k[s], cu_k[s + 1]
        if q1 == q0 or k1 == k0:
            continue
        ls = lse.narrow(1, q0, q1 - q0).unsqueeze(0)
        grads = c.flash_attention_bwd(
            _seq(dout, q0, q1), _seq(q, q0, q1), _seq(k, k0, k1), _seq(v, k0, k1), _seq(out, q0, q1), ls,
            causal=causal, scale=scale,
        )  # fmt: skip
        for dst, g, a, b in ((dq, grads[0], q0, q1), (dk, grads[1], k0, k1), (dv, grads[2], k0, k1)):
            c.slice_assign(dst.narrow(0, a, b - a), g[0].permute(1, 0, 2))
    return dq, dk, dv
