"""Generic flash attention forward: tiled online softmax (FlashAttention-2) from primitives.

Layout: q ``[B, H, Sq, D]``, k ``[B, Hkv, Sk, D]``, v ``[B, Hkv, Sk, Dv]`` -> out ``[B, H, Sq, Dv]``
(q's dtype), lse ``[B, H, Sq]`` f32 (``Dv = D`` through the trait; MLA uses ``Dv != D``).
Query head ``h`` reads KV head ``h // G`` with ``G = H // Hkv``: the G query heads of one
KV head are stacked as rows ``[B, Hkv, G * rows, D]`` so each key block is read by one
batched matmul. Queries are tiled by ``BLOCK_Q`` and keys by ``BLOCK_K``; per tile:
``s = q k^T`` (masked), ``m' = max(m, rowmax s)``, ``p = exp(s - m')``,
``l = l e^(m - m') + rowsum p``, ``acc = acc e^(m - m') + p v``;
finally ``out = acc / l`` and ``lse = m + log l``. Only key tiles some query of the
tile can see are visited; the full ``Sq x Sk`` matrix never exists.

Sq == 1 (decode) uses flash decoding: the keys are cut into chunks that are scored
in one batched matmul, and the chunk partials are combined by log-sum-exp.
With ``slopes`` (ALiBi, ``[H]``) each score tile gets ``-slope_h * |p_i - j|`` added
(decode included: it then takes the tiled path). Mask, alignment and bias: see ``attention_mask``.
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor
from .attention_mask import AttnSpec, alibi_block, visible_block, work_dtype

BLOCK_Q = 256
BLOCK_K = 128
DECODE_CHUNK = 256
NEG_INF = float("-inf")


def _finish(c: Any, m: Tensor, lsum: Tensor, acc: Tensor) -> tuple[Tensor, Tensor]:
    """``out = acc / l`` (0 where l == 0) and ``lse = m + log l`` (-inf where l == 0), l = lsum."""
    m_safe = c.where(c.eq(m, NEG_INF), 0.0, m)
    out = c.div(acc, c.where(c.eq(lsum, 0.0), 1.0, lsum))
    return out, c.add(m_safe, c.log(lsum))


def flash_attention_fwd(
    c: Any, q: Tensor, k: Tensor, v: Tensor, spec: AttnSpec, slopes: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """See the module doc. ``spec`` (and ``slopes [H]``, when given) are validated by the trait."""
    b, h, sq, d = q.shape
    dv = v.shape[3]
    hkv = k.shape[1]
    g = h // hkv
    wdt = work_dtype(q.dtype)
    qs = c.mul(c.cast(q, wdt), spec.scale).contiguous().reshape(b, hkv, g, sq, d)
    sl = None if slopes is None else c.cast(slopes, wdt).reshape(hkv, g, 1, 1)
    if sq == 1 and sl is None:
        out, lse = _decode(c, qs.reshape(b, hkv, g, d), k, v, spec, wdt)
        return c.cast(out.reshape(b, h, 1, dv), q.dtype), c.cast(lse.reshape(b, h, 1), _dt.f32)
    out = c.zeros(b, hkv, g, sq, dv, dtype=wdt)
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
        acc = c.zeros(b, hkv, rows, dv, dtype=wdt)
        for j0 in range(jlo, jhi, BLOCK_K):
            j1 = min(jhi, j0 + BLOCK_K)
            kb = c.cast(k.narrow(2, j0, j1 - j0), wdt)
            vb = c.cast(v.narrow(2, j0, j1 - j0), wdt)
            s = c.matmul(qb, kb.transpose(-1, -2))
            s = bias_and_mask(c, s, sl, spec, (b, hkv, g, i0, i1, j0, j1, sq))
            m_new = c.maximum(m, c.max(s, -1, keepdim=True))
            m_safe = c.where(c.eq(m_new, NEG_INF), 0.0, m_new)
            p = c.exp(c.sub(s, m_safe))
            alpha = c.exp(c.sub(m, m_safe))
            lsum = c.fma(lsum, alpha, c.sum(p, -1, keepdim=True))
            acc = c.fma(acc, alpha, c.matmul(p, vb))
            m = m_new
        ob, lb = _finish(c, m, lsum, acc)
        c.slice_assign(out.narrow(3, i0, nr), ob.reshape(b, hkv, g, nr, dv))
        c.slice_assign(lse.narrow(3, i0, nr), lb.reshape(b, hkv, g, nr))
    return c.cast(out.reshape(b, h, sq, dv), q.dtype), c.cast(lse.reshape(b, h, sq), _dt.f32)


def bias_and_mask(c: Any, s: Tensor, sl: Tensor | None, spec: AttnSpec, where: tuple[int, ...]) -> Tensor:
    """Score tile ``s [B, Hkv, G * nr, nc]`` plus the ALiBi bias (``sl [Hkv, G, 1, 1]`` or None), masked to -inf.

    ``where`` is ``(b, hkv, g, i0, i1, j0, j1, sq)``: the tile's batch/head sizes and row/column ranges.
    """
    b, hkv, g, i0, i1, j0, j1, sq = where
    nr, nc = i1 - i0, j1 - j0
    if sl is None and not spec.needs_mask(i0, i1, j0, j1, sq):
        return s
    s5 = s.reshape(b, hkv, g, nr, nc)
    if sl is not None:
        s5 = c.add(s5, alibi_block(c, sl, spec, i0, i1, j0, j1, sq))
    if spec.needs_mask(i0, i1, j0, j1, sq):
        s5 = c.where(visible_block(c, spec, i0, i1, j0, j1, sq), s5, NEG_INF)
    return s5.reshape(b, hkv, g * nr, nc)


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
    dv = v.shape[3]
    jlo, jhi = spec.key_range(0, 1, 1)
    n = jhi - jlo
    if n <= 0:
        return c.zeros(b, hkv, g, dv, dtype=wdt), c.full((b, hkv, g), NEG_INF, wdt)
    q5 = qg.unsqueeze(2)
    cs = min(DECODE_CHUNK, n)
    full, tail = divmod(n, cs)
    parts = []
    if full:
        kc = c.cast(k.narrow(2, jlo, full * cs), wdt).reshape(b, hkv, full, cs, d)
        vc = c.cast(v.narrow(2, jlo, full * cs), wdt).reshape(b, hkv, full, cs, dv)
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
    return out.reshape(b, hkv, g, dv), lse.reshape(b, hkv, g)
