"""Fused RoPE on the CPU (numba): one pass over ``x [B, H, S, D]``, f32 arithmetic.

Formula: for each pair ``(a, b)`` and angle ``theta = pos * inv_freq[k]`` given as
``cos/sin [S_max, D/2]``: ``(a, b) -> (a cos - b sign*sin, a sign*sin + b cos)``
(``sign = -1`` is the backward). Pairs: split-half ``(k, k + D/2)`` or interleaved
``(2k, 2k + 1)``. ``pos [B, S]`` holds each row's table index.
Layout: x, out ``[B, H, S, D]`` C-contiguous f32; cos, sin ``[S_max, D/2]`` f32.
Reference: Su et al., "RoFormer" (2021).
"""

from __future__ import annotations

import numba as nb


@nb.njit(cache=True, parallel=True, fastmath=True)
def rope_rows(x, cos, sin, pos, interleaved, sign, out):  # type: ignore[no-untyped-def]
    nbatch, nh, s, d = x.shape
    half = d // 2
    for t in nb.prange(nbatch * nh * s):
        i = t % s
        hh = (t // s) % nh
        bb = t // (s * nh)
        p = pos[bb, i]
        for kk in range(half):
            c = cos[p, kk]
            sn = sin[p, kk] * sign
            i0 = 2 * kk if interleaved else kk
            i1 = 2 * kk + 1 if interleaved else kk + half
            a = x[bb, hh, i, i0]
            b = x[bb, hh, i, i1]
            out[bb, hh, i, i0] = a * c - b * sn
            out[bb, hh, i, i1] = a * sn + b * c
