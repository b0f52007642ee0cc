"""IQ formats (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ4_NL, IQ4_XS).

Grids (``iq2xxs_grid`` ...) and ``ksigns_iq2xs`` come from gguf-py's class attributes at
import time (``boostr.kernels.cpu.quant.tables``), never retyped; kernels take the grid flat
(row ``idx`` at ``8*idx``, or ``4*idx`` for the IQ3 grids). Layouts (little endian,
``ggml-common.h``), per group g of 8 weights (4 for the IQ3 grids), sign bit j of a sign byte -> -1:
- IQ2_XXS (66 B): f16 d, 8 x (u8 grid[4], u32 aux); scale ``d*(0.5+aux>>28)*0.25``, signs ksigns[aux>>7l & 127]
- IQ2_XS (74 B): f16 d, u16 qs[32] (9-bit grid | 7-bit sign index), u8 scales[8] (nibbles per 16)
- IQ2_S (82 B): f16 d, u8 qs[32], u8 signs[32], u8 qh[8] (2 high grid bits), u8 scales[8]
- IQ3_XXS (98 B): f16 d, u8 qs[64] (grid of 4), u32 scales_and_signs[8]; scale ``d*(0.5+aux>>28)*0.5``
- IQ3_S (110 B): f16 d, u8 qs[64], u8 qh[8] (9th bit), u8 signs[32], u8 scales[4]; ``d*(1+2*s)``
- IQ1_S (50 B): f16 d, u8 qs[32], u16 qh[8] (3 high bits x4, 3-bit scale, delta sign); ``dl*(grid+-0.125)``
- IQ1_M (56 B): u8 qs[32], u8 qh[16], u16 scales[4] (3-bit scales, f16 d in the top nibbles)
- IQ4_NL (18 B, 32 weights): f16 d, u8 qs[16]; ``d * kvalues_iq4nl[q]``
- IQ4_XS (136 B): f16 d, u16 scales_h, u8 scales_l[4], u8 qs[128]; 6-bit scale - 32 per 32 weights
Reference: llama.cpp ``dequantize_row_iq2_xxs`` ... ``dequantize_row_iq4_xs`` (ggml-quants.c);
bit-exact with gguf-py ``gguf.quants`` (same f32 operation order). IQ4_NL and IQ4_XS have fused
matmul kernels (``tab`` = kvalues_iq4nl); the grid formats dequantize only.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._common import f16
from .gemv import blocks_prim, fma1, fma1x4, fma8, fma8x4, fused_prim, store1, store8
from .simd import ldb, ldh, ldw, vconcat, viota, vload_f32, vload_u8, vlut16, vneg, vsel, vsplat_i, vstore
from .tables import DELTA_IQ1

Q25 = np.float32(0.25)
HALF = np.float32(0.5)


@nb.njit(inline="always")
def _signed8(y, yo, v, sbyte):  # type: ignore[no-untyped-def]
    """Store the 8 lanes of ``v`` negated where bit j of ``sbyte`` is set."""
    bits = (vsplat_i(sbyte, 8) >> viota(8)) & 1
    vstore(y, yo, vsel(bits, vneg(v), v))


@nb.njit(inline="always")
def _nib_scale(w, s_off, s):  # type: ignore[no-untyped-def]
    return (ldb(w, s_off + (s >> 1)) >> (4 * (s & 1))) & 15


@nb.njit(inline="always")
def _iq2_xxs(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    d = f16(w, o, lut)
    for ib in range(8):
        aux = ldw(w, o + 6 + 8 * ib)
        db = d * (HALF + np.float32(aux >> 28)) * Q25
        for lg in range(4):
            idx = ldb(w, o + 2 + 8 * ib + lg)
            sb = ldb(ks, (aux >> (7 * lg)) & 127)
            _signed8(y, yo + 32 * ib + 8 * lg, vload_f32(grid, 8 * idx, 8) * db, sb)


@nb.njit(inline="always")
def _iq2_xs(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    d = f16(w, o, lut)
    for g in range(32):
        db = d * (HALF + np.float32(_nib_scale(w, o + 66, g >> 1))) * Q25
        q = ldh(w, o + 2 + 2 * g)
        _signed8(y, yo + 8 * g, vload_f32(grid, 8 * (q & 511), 8) * db, ldb(ks, q >> 9))


@nb.njit(inline="always")
def _iq2_s(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    d = f16(w, o, lut)
    for g in range(32):
        db = d * (HALF + np.float32(_nib_scale(w, o + 74, g >> 1))) * Q25
        idx = ldb(w, o + 2 + g) | (((ldb(w, o + 66 + (g >> 2)) >> (2 * (g & 3))) & 3) << 8)
        _signed8(y, yo + 8 * g, vload_f32(grid, 8 * idx, 8) * db, ldb(w, o + 34 + g))


@nb.njit(inline="always")
def _iq3_xxs(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    d = f16(w, o, lut)
    for ib in range(8):
        aux = ldw(w, o + 66 + 4 * ib)
        db = d * (HALF + np.float32(aux >> 28)) * HALF
        for lg in range(4):
            g = 4 * ib + lg
            i0, i1 = ldb(w, o + 2 + 2 * g), ldb(w, o + 3 + 2 * g)
            v = vconcat(vload_f32(grid, 4 * i0, 4), vload_f32(grid, 4 * i1, 4))
            _signed8(y, yo + 8 * g, v * db, ldb(ks, (aux >> (7 * lg)) & 127))


@nb.njit(inline="always")
def _iq3_s(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    d = f16(w, o, lut)
    for ib in range(8):
        db = d * np.float32(1 + 2 * _nib_scale(w, o + 106, ib))
        for lg in range(4):
            g = 4 * ib + lg
            qh = ldb(w, o + 66 + (g >> 2))
            i0 = ldb(w, o + 2 + 2 * g) | (((qh >> ((2 * g) & 7)) & 1) << 8)
            i1 = ldb(w, o + 3 + 2 * g) | (((qh >> ((2 * g + 1) & 7)) & 1) << 8)
            v = vconcat(vload_f32(grid, 4 * i0, 4), vload_f32(grid, 4 * i1, 4))
            _signed8(y, yo + 8 * g, v * db, ldb(w, o + 74 + g))


@nb.njit(inline="always")
def _iq1_s(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    d = f16(w, o, lut)
    for ib in range(8):
        qh = ldh(w, o + 34 + 2 * ib)
        dl = d * np.float32(2 * ((qh >> 12) & 7) + 1)
        delta = -DELTA_IQ1 if qh & 0x8000 else DELTA_IQ1
        for lg in range(4):
            idx = ldb(w, o + 2 + 4 * ib + lg) | (((qh >> (3 * lg)) & 7) << 8)
            vstore(y, yo + 32 * ib + 8 * lg, (vload_f32(grid, 8 * idx, 8) + delta) * dl)


@nb.njit(inline="always")
def _iq1_m(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    s0, s1, s2, s3 = ldh(w, o + 48), ldh(w, o + 50), ldh(w, o + 52), ldh(w, o + 54)
    d = lut[(s0 >> 12) | ((s1 >> 8) & 0xF0) | ((s2 >> 4) & 0xF00) | (s3 & 0xF000)]
    for g in range(32):
        s = g >> 1
        sv = (ldh(w, o + 48 + 2 * (s >> 2)) >> (3 * (s & 3))) & 7
        dl = d * np.float32(2 * sv + 1)
        qh = ldb(w, o + 32 + (g >> 1)) >> (4 * (g & 1))
        idx = ldb(w, o + g) | ((qh & 7) << 8)
        delta = -DELTA_IQ1 if qh & 8 else DELTA_IQ1
        vstore(y, yo + 8 * g, (vload_f32(grid, 8 * idx, 8) + delta) * dl)


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _h_iq4_nl(w, o, lut):  # type: ignore[no-untyped-def]
    return f16(w, o, lut)


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _iq4_nl(w, o, s, d, tab):  # type: ignore[no-untyped-def]
    q = vload_u8(w, o + 2, 16)
    return vlut16(tab, q & 15) * d, vlut16(tab, q >> 4) * d


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _h_iq4_xs(w, o, lut):  # type: ignore[no-untyped-def]
    return f16(w, o, lut), ldh(w, o + 2)


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _iq4_xs(w, o, s, h, tab):  # type: ignore[no-untyped-def]
    ls = ((ldb(w, o + 4 + (s >> 1)) >> (4 * (s & 1))) & 15) | (((h[1] >> (2 * s)) & 3) << 4)
    dl = h[0] * np.float32(ls - 32)
    q = vload_u8(w, o + 8 + 16 * s, 16)
    return vlut16(tab, q & 15) * dl, vlut16(tab, q >> 4) * dl


def iq2_xxs(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_iq2_xxs, 66, 256, wp, nblk, yp, lp, tp, nt, kp)


def iq2_xs(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_iq2_xs, 74, 256, wp, nblk, yp, lp, tp, nt, kp)


def iq2_s(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_iq2_s, 82, 256, wp, nblk, yp, lp, tp, nt, kp)


def iq3_xxs(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_iq3_xxs, 98, 256, wp, nblk, yp, lp, tp, nt, kp)


def iq3_s(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_iq3_s, 110, 256, wp, nblk, yp, lp, tp, nt, kp)


def iq1_s(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_iq1_s, 50, 256, wp, nblk, yp, lp, tp, nt, kp)


def iq1_m(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_iq1_m, 56, 256, wp, nblk, yp, lp, tp, nt, kp)


def iq4_nl(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_h_iq4_nl, _iq4_nl, fma1, fma1x4, store1, 18, 32, op, xp, wp, nblk, yp, lp, tp, nt, kp)


def iq4_xs(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_h_iq4_xs, _iq4_xs, fma8, fma8x4, store8, 136, 256, op, xp, wp, nblk, yp, lp, tp, nt, kp)


FUSED = {"IQ4_NL": iq4_nl, "IQ4_XS": iq4_xs}
DEQUANT = {
    "IQ2_XXS": iq2_xxs, "IQ2_XS": iq2_xs, "IQ2_S": iq2_s, "IQ3_XXS": iq3_xxs, "IQ3_S": iq3_s,
    "IQ1_S": iq1_s, "IQ1_M": iq1_m,
}  # fmt: skip
