"""K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and the activation format Q8_K: block decoders (256 weights).

Block layouts (little endian, ``ggml-common.h``); e = weight index, g = e // 16, sb = e // 32:
- Q2_K (84 B): u8 scales[16] (lo: scale, hi: min), u8 qs[64], f16 d, f16 dmin;
  q = qs[32*(e//128) + e%32] >> 2*((e//32)%4) & 3; ``(d*sc[g]) * q - (dmin*mn[g])``
- Q3_K (110 B): u8 hmask[32], u8 qs[64], u8 scales[12] (16 x 6 bit), f16 d;
  q = (2-bit as Q2_K) - 4 * !(hmask[e%32] >> sb & 1); ``(d*(sc[g]-32)) * q``
- Q4_K (144 B): f16 d, f16 dmin, u8 scales[12] (8 x 6-bit scale + 8 x 6-bit min), u8 qs[128];
  q = qs[32*(sb//2) + e%32] >> 4*(sb%2) & 15; ``(d*sc[sb]) * q - (dmin*mn[sb])``
- Q5_K (176 B): as Q4_K plus u8 qh[32] before qs; q |= (qh[e%32] >> sb & 1) << 4
- Q6_K (210 B): u8 ql[128], u8 qh[64], i8 scales[16], f16 d; ``(d*sc[g]) * (q - 32)``
- Q8_K (292 B): f32 d, i8 qs[256], i16 bsums[16]; ``d * q``
Reference: llama.cpp ``dequantize_row_q2_K`` ... ``dequantize_row_q6_K``, ``get_scale_min_k4``
(ggml-quants.c); bit-exact with gguf-py ``gguf.quants`` (same f32 operation order).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._common import f16at, f32at, s8

CODES = {"Q2_K": 0, "Q3_K": 1, "Q4_K": 2, "Q5_K": 3, "Q6_K": 4, "Q8_K": 5}


@nb.njit(inline="always")
def scale_min_k4(j, w, s):  # type: ignore[no-untyped-def]
    """6-bit (scale, min) pair j of the 12 packed bytes at ``w[s:]`` (``get_scale_min_k4``)."""
    if j < 4:
        return np.int64(w[s + j]) & 63, np.int64(w[s + j + 4]) & 63
    sc = (np.int64(w[s + j + 4]) & 15) | ((np.int64(w[s + j - 4]) >> 6) << 4)
    mn = (np.int64(w[s + j + 4]) >> 4) | ((np.int64(w[s + j]) >> 6) << 4)
    return sc, mn


@nb.njit(inline="always")
def q3k_scale(j, w, s):  # type: ignore[no-untyped-def]
    """Signed 6-bit scale j of Q3_K's 12 packed bytes at ``w[s:]``."""
    lo = (np.int64(w[s + j]) & 15) if j < 8 else (np.int64(w[s + j - 8]) >> 4)
    hi = (np.int64(w[s + 8 + j % 4]) >> (2 * (j // 4))) & 3
    return (lo | (hi << 4)) - 32


@nb.njit(cache=True)
def decode_block(code, w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    """Decode the 256-weight block at byte ``o`` of ``w`` into ``y[yo:yo+256]`` (f32)."""
    if code == 0:
        d = f16at(w, o + 80, lut)
        dmin = f16at(w, o + 82, lut)
        for g in range(16):
            sc = np.int64(w[o + g])
            dl = d * np.float32(sc & 15)
            ml = dmin * np.float32(sc >> 4)
            for i in range(16):
                e = g * 16 + i
                q = (np.int64(w[o + 16 + 32 * (e >> 7) + (e & 31)]) >> (2 * ((e >> 5) & 3))) & 3
                y[yo + e] = dl * np.float32(q) - ml
    elif code == 1:
        d = f16at(w, o + 108, lut)
        for g in range(16):
            dl = d * np.float32(q3k_scale(g, w, o + 96))
            for i in range(16):
                e = g * 16 + i
                q = (np.int64(w[o + 32 + 32 * (e >> 7) + (e & 31)]) >> (2 * ((e >> 5) & 3))) & 3
                if not (np.int64(w[o + (e & 31)]) >> (e >> 5)) & 1:
                    q -= 4
                y[yo + e] = dl * np.float32(q)
    elif code == 2 or code == 3:
        d = f16at(w, o, lut)
        dmin = f16at(w, o + 2, lut)
        qs = o + 16 if code == 2 else o + 48
        for sb in range(8):
            sc, mn = scale_min_k4(sb, w, o + 4)
            d1 = d * np.float32(sc)
            m1 = dmin * np.float32(mn)
            sh = 4 * (sb & 1)
            for i in range(32):
                q = (np.int64(w[qs + 32 * (sb >> 1) + i]) >> sh) & 15
                if code == 3:
                    q |= ((np.int64(w[o + 16 + i]) >> sb) & 1) << 4
                y[yo + sb * 32 + i] = d1 * np.float32(q) - m1
    elif code == 4:
        d = f16at(w, o + 208, lut)
        for g in range(16):
            dl = d * np.float32(s8(w[o + 192 + g]))
            for i in range(16):
                e = g * 16 + i
                c = e >> 7
                h = (e >> 6) & 1
                r = e & 63
                ql = (np.int64(w[o + c * 64 + r]) >> (4 * h)) & 15
                qh = (np.int64(w[o + 128 + c * 32 + (e & 31)]) >> (2 * ((e >> 5) & 3))) & 3
                y[yo + e] = dl * np.float32((ql | (qh << 4)) - 32)
    else:
        d = f32at(w, o)
        for e in range(256):
            y[yo + e] = d * np.float32(s8(w[o + 4 + e]))


@nb.njit(cache=True, parallel=True)
def dequant(code, w, nblk, bb, be, out, lut, grid, ks):  # type: ignore[no-untyped-def]
    for b in nb.prange(nblk):
        decode_block(code, w, b * bb, out, b * be, lut, grid, ks)


@nb.njit(cache=True, parallel=True, fastmath=True)
def matmul(code, x, w, n_rows, nbpr, bb, be, out, lut, grid, ks):  # type: ignore[no-untyped-def]
    """``out[m, n] = sum_k x[m, k] * W[n, k]`` decoding W block by block (never whole rows)."""
    n_m = x.shape[0]
    for n in nb.prange(n_rows):
        y = np.empty(be, np.float32)
        acc = np.zeros(n_m, np.float32)
        for b in range(nbpr):
            decode_block(code, w, (n * nbpr + b) * bb, y, 0, lut, grid, ks)
            xo = b * be
            for m in range(n_m):
                s = np.float32(0.0)
                for j in range(be):
                    s += y[j] * x[m, xo + j]
                acc[m] += s
        for m in range(n_m):
            out[m, n] = acc[m]
