"""Generic flash attention backward (FlashAttention-2): recompute P per key tile from the LSE.

Layout: dout/q/out ``[B, H, Sq, D]``, k/v ``[B, Hkv, Sk, D]``, lse ``[B, H, Sq]`` ->
dq ``[B, H, Sq, D]``, dk/dv ``[B, Hkv, Sk, D]`` (in the dtypes of q, k, v).
Per (query tile, key tile): ``p = exp(q k^T * scale - lse)`` (0 where masked or where
the row saw no key), ``dv += p^T dout``, ``dp = dout v^T``, ``ds = p (dp - delta)`` with
``delta = rowsum(dout * out)``, ``dq += ds k * scale``, ``dk += ds^T q * scale``.
The G query heads of one KV head are stacked as rows, so their dk/dv contributions sum
inside the matmul. With ``slopes`` (ALiBi) the recomputed scores carry the same bias as the
forward's. Mask, alignment and bias: see ``attention_mask``.
"""

from __future__ import annotations

from typing import Any

from ...tensor import Tensor
from .attention import BLOCK_K, BLOCK_Q, NEG_INF, bias_and_mask
from .attention_mask import AttnSpec, work_dtype


def _add_into(c: Any, dst: Tensor, val: Tensor) -> None:
    c.slice_assign(dst, c.add(dst, val))


def flash_attention_bwd(
    c: Any, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, spec: AttnSpec,
    slopes: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """See the module doc. Arguments are validated by the trait."""
    b, h, sq, d = q.shape
    hkv, sk = k.shape[1], k.shape[2]
    g = h // hkv
    wdt = work_dtype(q.dtype)
    sl = None if slopes is None else c.cast(slopes, wdt).reshape(hkv, g, 1, 1)
    qs = c.mul(c.cast(q, wdt), spec.scale).contiguous().reshape(b, hkv, g, sq, d)
    do = c.cast(dout, wdt).contiguous().reshape(b, hkv, g, sq, d)
    delta = c.sum(c.mul(c.cast(dout, wdt), c.cast(out, wdt)), -1).reshape(b, hkv, g, sq)
    lse_w = c.cast(lse, wdt).reshape(b, hkv, g, sq)
    lse_safe = c.where(c.eq(lse_w, NEG_INF), float("inf"), lse_w)
    dq = c.zeros(b, hkv, g, sq, d, dtype=wdt)
    dk = c.zeros(b, hkv, sk, d, dtype=wdt)
    dv = c.zeros(b, hkv, sk, d, dtype=wdt)
    for i0 in range(0, sq, BLOCK_Q):
        i1 = min(sq, i0 + BLOCK_Q)
        jlo, jhi = spec.key_range(i0, i1, sq)
        if jhi <= jlo:
            continue
        nr = i1 - i0
        rows = g * nr
        qb = c.contiguous(qs.narrow(3, i0, nr)).reshape(b, hkv, rows, d)
        dob = c.contiguous(do.narrow(3, i0, nr)).reshape(b, hkv, rows, d)
        lb = c.contiguous(lse_safe.narrow(3, i0, nr)).reshape(b, hkv, rows, 1)
        db = c.contiguous(delta.narrow(3, i0, nr)).reshape(b, hkv, rows, 1)
        dqb = c.zeros(b, hkv, rows, d, dtype=wdt)
        for j0 in range(jlo, jhi, BLOCK_K):
            j1 = min(jhi, j0 + BLOCK_K)
            nc = j1 - j0
            kb = c.cast(k.narrow(2, j0, nc), wdt)
            vb = c.cast(v.narrow(2, j0, nc), wdt)
            s = bias_and_mask(c, c.matmul(qb, kb.transpose(-1, -2)), sl, spec, (b, hkv, g, i0, i1, j0, j1, sq))
            p = c.exp(c.sub(s, lb))
            _add_into(c, dv.narrow(2, j0, nc), c.matmul(p.transpose(-1, -2), dob))
            ds = c.mul(p, c.sub(c.matmul(dob, vb.transpose(-1, -2)), db))
            dqb = c.add(dqb, c.matmul(ds, kb))
            _add_into(c, dk.narrow(2, j0, nc), c.matmul(ds.transpose(-1, -2), qb))
        c.slice_assign(dq.narrow(3, i0, nr), c.mul(dqb, spec.scale).reshape(b, hkv, g, nr, d))
    return c.cast(dq.reshape(b, h, sq, d), q.dtype), c.cast(dk, k.dtype), c.cast(dv, v.dtype)
