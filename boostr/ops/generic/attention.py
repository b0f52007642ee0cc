"""Generic flash attention forward: tiled online softmax (FlashAttention-2) from primitives.

Layout: q ``[B, H, Sq, D]``, k/v ``[B, Hkv, Sk, D]`` -> out ``[B, H, Sq, D]`` (q's dtype),
lse ``[B, H, Sq]`` f32. Query head ``h`` reads KV head ``h // G`` with ``G = H // Hkv``:
the G query heads of one KV head are stacked as rows ``[B, Hkv, G * rows, D]`` so each key
block is read by one batched matmul. Queries are tiled by ``BLOCK_Q`` and keys by
``BLOCK_K``; per tile: ``s = q k^T`` (masked), ``m' = max(m, rowmax s)``,
``p = exp(s - m')``, ``l = l e^(m - m') + rowsum p``, ``acc = acc e^(m - m') + p v``;
finally ``out = acc / l`` and ``lse = m + log l``. Only key tiles some query of the
tile can see are visited; the full ``Sq x Sk`` matrix never exists.

Sq == 1 (decode) uses flash decoding: the keys are cut into chunks that are scored
in one batched matmul, and the chunk partials are combined by log-sum-exp.
Mask and alignment: see ``attention_mask``.
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor
from .attention_mask import AttnSpec, visible_block, work_dtype

BLOCK_Q = 256
BLOCK_K = 128
DECODE_CHUNK = 256
NEG_INF = float("-inf")


def _finish(c: Any, m: Tensor, lsum: Tensor, acc: Tensor) -> tuple[Tensor, Tensor]:
    """``out = acc / l`` (0 where l == 0) and ``lse = m + log l`` (-inf where l == 0), l = lsum."""
    m_safe = c.where(c.eq(m, NEG_INF), 0.0, m)
    out = c.div(acc, c.where(c.eq(lsum, 0.0), 1.0, lsum))
    return out, c.add(m_safe, c.log(lsum))


def flash_attention_fwd(c: Any, q: Tensor, k: Tensor, v: Tensor, spec: AttnSpec) -> tuple[Tensor, Tensor]:
    """See the module doc. ``spec`` is validated by the trait."""
    b, h, sq, d = q.shape
    hkv = k.shape[1]
    g = h // hkv
    wdt = work_dtype(q.dtype)
    qs = c.mul(c.cast(q, wdt), spec.scale).contiguous().reshape(b, hkv, g, sq, d)
    if sq == 1:
        out, lse = _decode(c, qs.reshape(b, hkv, g, d), k, v, spec, wdt)
        return c.cast(out.reshape(b, h, 1, d), q.dtype), c.cast(lse.reshape(b, h, 1), _dt.f32)
    out = c.zeros(b, hkv, g, sq, d, dtype=wdt)
    lse = c.full((b, hkv, g, sq), NEG_INF, wdt)
    for i0 in range(0, sq, BLOCK_Q):
        i1 = min(sq, i0 + BLOCK_Q)
        jlo, jhi = spec.key_range(i0, i1, sq)
        if jhi <= jlo:
            continue
        nr = i1 - i0
        rows = g * nr
        qb = c.contiguous(qs.narrow(3, i0, nr)).reshape(b, hkv, rows, d)
        m = c.full((b, hkv, rows, 1), NEG_INF, wdt)
        lsum = c.zeros(b, hkv, rows, 1, dtype=wdt)
        acc = c.zeros(b, hkv, rows, d, dtype=wdt)
        for j0 in range(jlo, jhi, BLOCK_K):
            j1 = min(jhi, j0 + BLOCK_K)
            kb = c.cast(k.narrow(2, j0, j1 - j0), wdt)
            vb = c.cast(v.narrow(2, j0, j1 - j0), wdt)
            s = c.matmul(qb, kb.transpose(-1, -2))
            if spec.needs_mask(i0, i1, j0, j1, sq):
                vis = visible_block(c, spec, i0, i1, j0, j1, sq)
                s = c.where(vis, s.reshape(b, hkv, g, nr, j1 - j0), NEG_INF).reshape(b, hkv, rows, j1 - j0)
            m_new = c.maximum(m, c.max(s, -1, keepdim=True))
            m_safe = c.where(c.eq(m_new, NEG_INF), 0.0, m_new)
            p = c.exp(c.sub(s, m_safe))
            alpha = c.exp(c.sub(m, m_safe))
            lsum = c.fma(lsum, alpha, c.sum(p, -1, keepdim=True))
            acc = c.fma(acc, alpha, c.matmul(p, vb))
            m = m_new
        ob, lb = _finish(c, m, lsum, acc)
        c.slice_assign(out.narrow(3, i0, nr), ob.reshape(b, hkv, g, nr, d))
        c.slice_assign(lse.narrow(3, i0, nr), lb.reshape(b, hkv, g, nr))
    return c.cast(out.reshape(b, h, sq, d), q.dtype), c.cast(lse.reshape(b, h, sq), _dt.f32)


def _chunk_partials(c: Any, qg: Tensor, kc: Tensor, vc: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-chunk (max, sum, unnormalized acc) for ``qg [B, Hkv, 1, G, D]``, ``kc/vc [B, Hkv, C, n, D]``."""
    s = c.matmul(qg, kc.transpose(-1, -2))  # [B, Hkv, C, G, n]
    m = c.max(s, -1, keepdim=True)
    m_safe = c.where(c.eq(m, NEG_INF), 0.0, m)
    p = c.exp(c.sub(s, m_safe))
    return m, c.sum(p, -1, keepdim=True), c.matmul(p, vc)


def _decode(c: Any, qg: Tensor, k: Tensor, v: Tensor, spec: AttnSpec, wdt: _dt.DType) -> tuple[Tensor, Tensor]:
    """Flash decoding for one query per head: ``qg [B, Hkv, G, D]`` -> (out ``[B, Hkv, G, D]``, lse ``[B, Hkv, G]``).

    The single query sits at position ``kv_len - 1``, so its visible keys are exactly
    ``key_range(0, 1, 1)``: no mask is needed, only the key range.
    """
    b, hkv, g, d = qg.shape
    jlo, jhi = spec.key_range(0, 1, 1)
    n = jhi - jlo
    if n <= 0:
        return c.zeros(b, hkv, g, d, dtype=wdt), c.full((b, hkv, g), NEG_INF, wdt)
    q5 = qg.unsqueeze(2)
    cs = min(DECODE_CHUNK, n)
    full, tail = divmod(n, cs)
    parts = []
    if full:
        kc = c.cast(k.narrow(2, jlo, full * cs), wdt).reshape(b, hkv, full, cs, d)
        vc = c.cast(v.narrow(2, jlo, full * cs), wdt).reshape(b, hkv, full, cs, d)
        parts.append(_chunk_partials(c, q5, kc, vc))
    if tail:
        j0 = jlo + full * cs
        kc = c.cast(k.narrow(2, j0, tail), wdt).unsqueeze(2)
        vc = c.cast(v.narrow(2, j0, tail), wdt).unsqueeze(2)
        parts.append(_chunk_partials(c, q5, kc, vc))
    m, lsum, acc = (c.cat([p[i] for p in parts], 2) if len(parts) > 1 else parts[0][i] for i in range(3))
    mx = c.max(m, 2, keepdim=True)
    mx_safe = c.where(c.eq(mx, NEG_INF), 0.0, mx)
    w = c.exp(c.sub(m, mx_safe))  # [B, Hkv, C, G, 1]
    out, lse = _finish(c, mx, c.sum(c.mul(lsum, w), 2, keepdim=True), c.sum(c.mul(acc, w), 2, keepdim=True))
    return out.reshape(b, hkv, g, d), lse.reshape(b, hkv, g)
