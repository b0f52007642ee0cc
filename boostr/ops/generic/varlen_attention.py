"""Generic variable-length (packed) attention: one ``flash_attention_fwd`` per sequence.

Layout: q ``[Tq, H, D]``, k/v ``[Tk, Hkv, D]`` packed; sequence s holds rows
``cu_q[s]:cu_q[s+1]`` of q and ``cu_k[s]:cu_k[s+1]`` of k/v. Each sequence is viewed as
``[1, H, L, D]`` (a permuted view, no copy) and sent through the client's
``flash_attention_fwd`` (so a backend's fused flash kernel serves varlen too); causal masks
are bottom-right aligned per sequence. ``cu_q``/``cu_k`` are validated host-side ints.
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
