"""K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and the activation format Q8_K (256 weights a block).

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
Each sub-block decoder yields the 32 weights of sub-block ``s`` (two halves of 16, which in
Q2_K/Q3_K/Q6_K are the two 16-weight scale groups). Q2_K ... Q6_K have fused matmul kernels.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._common import f16, f32at
from .gemv import blocks_prim, fma8, fma8x4, fused_prim, store8
from .simd import vconcat, viota, vlane, vload_i8, vload_u8, vsel, vstore, vtof


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


@nb.njit(inline="always")
def _sm4_vec(w, o, d, dmin):  # type: ignore[no-untyped-def]
    """All 8 ``get_scale_min_k4`` pairs of the 12 bytes at ``o`` as f32x8 ``d * sc`` and ``dmin * mn``."""
    a = vload_u8(w, o, 8)  # q[0..7]
    b = vload_u8(w, o + 4, 8)  # q[4..11]
    c = vload_u8(w, o, 4)
    c = vconcat(c, c)  # q[j - 4] in lanes 4..7
    hi = viota(8) >> 2
    sc = vsel(hi, (b & 15) | ((c >> 6) << 4), a & 63)
    mn = vsel(hi, (b >> 4) | ((a >> 6) << 4), b & 63)
    return vtof(sc) * d, vtof(mn) * dmin


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _h_q2_k(w, o, lut):  # type: ignore[no-untyped-def]
    sc = vload_u8(w, o, 16)
    return vtof(sc & 15) * f16(w, o + 80, lut), vtof(sc >> 4) * f16(w, o + 82, lut)


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _q2_k(w, o, s, h, tab):  # type: ignore[no-untyped-def]
    dl, ml = h
    qo = o + 16 + 32 * (s >> 2)
    sh = 2 * (s & 3)
    q0 = (vload_u8(w, qo, 16) >> sh) & 3
    q1 = (vload_u8(w, qo + 16, 16) >> sh) & 3
    return vtof(q0) * vlane(dl, 2 * s) - vlane(ml, 2 * s), vtof(q1) * vlane(dl, 2 * s + 1) - vlane(ml, 2 * s + 1)


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _h_q3_k(w, o, lut):  # type: ignore[no-untyped-def]
    """The 16 signed 6-bit scales times d (``q3k_scale``, vectorized)."""
    q = vload_u8(w, o + 96, 8)
    q = vconcat(q, q)  # q[j % 8]
    h = vload_u8(w, o + 104, 4)
    h = vconcat(h, h)
    h = vconcat(h, h)  # q[8 + j % 4]
    io = viota(16)
    lo = (q >> ((io >> 3) << 2)) & 15
    hi = (h >> ((io >> 2) << 1)) & 3
    return vtof((lo | (hi << 4)) - 32) * f16(w, o + 108, lut)


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _q3_k(w, o, s, dl, tab):  # type: ignore[no-untyped-def]
    qo = o + 32 + 32 * (s >> 2)
    sh = 2 * (s & 3)
    q0 = ((vload_u8(w, qo, 16) >> sh) & 3) + (((vload_u8(w, o, 16) >> s) & 1) << 2) - 4
    q1 = ((vload_u8(w, qo + 16, 16) >> sh) & 3) + (((vload_u8(w, o + 16, 16) >> s) & 1) << 2) - 4
    return vtof(q0) * vlane(dl, 2 * s), vtof(q1) * vlane(dl, 2 * s + 1)


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _h_q45_k(w, o, lut):  # type: ignore[no-untyped-def]
    return _sm4_vec(w, o + 4, f16(w, o, lut), f16(w, o + 2, lut))


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _q4_k(w, o, s, h, tab):  # type: ignore[no-untyped-def]
    d1 = vlane(h[0], s)
    m1 = vlane(h[1], s)
    qo = o + 16 + 32 * (s >> 1)
    sh = 4 * (s & 1)
    q0 = (vload_u8(w, qo, 16) >> sh) & 15
    q1 = (vload_u8(w, qo + 16, 16) >> sh) & 15
    return vtof(q0) * d1 - m1, vtof(q1) * d1 - m1


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _q5_k(w, o, s, h, tab):  # type: ignore[no-untyped-def]
    d1 = vlane(h[0], s)
    m1 = vlane(h[1], s)
    qo = o + 48 + 32 * (s >> 1)
    sh = 4 * (s & 1)
    q0 = ((vload_u8(w, qo, 16) >> sh) & 15) | (((vload_u8(w, o + 16, 16) >> s) & 1) << 4)
    q1 = ((vload_u8(w, qo + 16, 16) >> sh) & 15) | (((vload_u8(w, o + 32, 16) >> s) & 1) << 4)
    return vtof(q0) * d1 - m1, vtof(q1) * d1 - m1


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _h_q6_k(w, o, lut):  # type: ignore[no-untyped-def]
    return vtof(vload_i8(w, o + 192, 16)) * f16(w, o + 208, lut)


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _q6_k(w, o, s, dl, tab):  # type: ignore[no-untyped-def]
    c = s >> 2
    lo = o + 64 * c + 32 * (s & 1)
    ho = o + 128 + 32 * c
    shl = 4 * ((s >> 1) & 1)
    shh = 2 * (s & 3)
    q0 = ((vload_u8(w, lo, 16) >> shl) & 15) | (((vload_u8(w, ho, 16) >> shh) & 3) << 4)
    q1 = ((vload_u8(w, lo + 16, 16) >> shl) & 15) | (((vload_u8(w, ho + 16, 16) >> shh) & 3) << 4)
    return vtof(q0 - 32) * vlane(dl, 2 * s), vtof(q1 - 32) * vlane(dl, 2 * s + 1)


@nb.njit(inline="always")
def _q8_k(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    d = f32at(w, o)
    for t in range(16):
        vstore(y, yo + 16 * t, vtof(vload_i8(w, o + 4 + 16 * t, 16)) * d)


def q2_k(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_h_q2_k, _q2_k, fma8, fma8x4, store8, 84, 256, op, xp, wp, nblk, yp, lp, tp, nt, kp)


def q3_k(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_h_q3_k, _q3_k, fma8, fma8x4, store8, 110, 256, op, xp, wp, nblk, yp, lp, tp, nt, kp)


def q4_k(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_h_q45_k, _q4_k, fma8, fma8x4, store8, 144, 256, op, xp, wp, nblk, yp, lp, tp, nt, kp)


def q5_k(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_h_q45_k, _q5_k, fma8, fma8x4, store8, 176, 256, op, xp, wp, nblk, yp, lp, tp, nt, kp)


def q6_k(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_h_q6_k, _q6_k, fma8, fma8x4, store8, 210, 256, op, xp, wp, nblk, yp, lp, tp, nt, kp)


def q8_k(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_q8_k, 292, 256, wp, nblk, yp, lp, tp, nt, kp)


FUSED = {"Q2_K": q2_k, "Q3_K": q3_k, "Q4_K": q4_k, "Q5_K": q5_k, "Q6_K": q6_k}
DEQUANT = {"Q8_K": q8_k}
