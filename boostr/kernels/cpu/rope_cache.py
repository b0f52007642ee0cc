"""Fused RoPE + paged KV-cache write on the CPU (numba): one pass over the fused QKV rows, f32 math.

Formula: for token ``t = b * S + s`` at table row ``p = pos[b, s]`` and each q/k head, the pairs
``(x0, x1)`` (split-half ``(k, k + D/2)`` or interleaved ``(2k, 2k + 1)``) become
``(x0 cos[p, k] - x1 sin[p, k], x0 sin[p, k] + x1 cos[p, k])``; q heads go to ``q[b, h, s]``, k heads
to ``kdst[rows[t], h]``, and v heads are copied unrotated to ``vdst[rows[t], h]``; ``rows[t] < 0``
skips the token's k and v.
Layout: qkv ``[B, S, (H + 2 H_kv) D]`` f32 (any strides); cos, sin ``[S_max, D/2]`` f32; pos ``[B, S]``
i64 (validated by the caller); rows ``[B * S]`` i64 (< R); q ``[B, H, S, D]`` f32; kdst, vdst
``[R, H_kv, D]`` f32 (the flat blocks, or a ``[B * S, H_kv, D]`` staging buffer).
Reference: Su et al., "RoFormer" (2021); Kwon et al., "PagedAttention" (SOSP 2023).
"""

from __future__ import annotations

import numba as nb


@nb.njit(cache=True, parallel=True, fastmath=True)
def rope_cache_rows(qkv, cos, sin, pos, rows, h, hkv, interleaved, q, kdst, vdst):  # type: ignore[no-untyped-def]
    nbatch, s, _ = qkv.shape
    d = q.shape[3]
    half = d // 2
    heads = h + 2 * hkv
    for t in nb.prange(nbatch * s * heads):
        hh = t % heads
        tok = t // heads
        bb = tok // s
        i = tok % s
        row = rows[tok]
        if hh >= h and row < 0:
            continue
        base = hh * d
        if hh >= h + hkv:
            for dd in range(d):
                vdst[row, hh - h - hkv, dd] = qkv[bb, i, base + dd]
            continue
        p = pos[bb, i]
        for kk in range(half):
            c = cos[p, kk]
            sn = sin[p, kk]
            i0 = 2 * kk if interleaved else kk
            i1 = 2 * kk + 1 if interleaved else kk + half
            a = qkv[bb, i, base + i0]
            b = qkv[bb, i, base + i1]
            o0 = a * c - b * sn
            o1 = a * sn + b * c
            if hh < h:
                q[bb, hh, i, i0] = o0
                q[bb, hh, i, i1] = o1
            else:
                kdst[row, hh - h, i0] = o0
                kdst[row, hh - h, i1] = o1
