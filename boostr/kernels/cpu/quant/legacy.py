"""Legacy 32-weight formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 and the 128-weight Q1_0.

Block layouts (little endian, ``ggml-common.h``), value of weight j:
- Q4_0 (18 B): f16 d, u8 qs[16]; j<16: lo nibble of qs[j], else hi nibble of qs[j-16]; ``d * (q - 8)``
- Q4_1 (20 B): f16 d, f16 m, u8 qs[16]; same nibbles; ``d * q + m``
- Q5_0 (22 B): f16 d, u32 qh, u8 qs[16]; q = nibble | bit j of qh << 4; ``d * (q - 16)``
- Q5_1 (24 B): f16 d, f16 m, u32 qh, u8 qs[16]; ``d * q + m``
- Q8_0 (34 B): f16 d, i8 qs[32]; ``d * q``
- Q8_1 (36 B): f16 d, f16 s (= d * sum q), i8 qs[32]; ``d * q``
- Q1_0 (18 B, 128 weights): f16 d, u8 qs[16]; bit j (LSB first) set -> ``+d`` else ``-d``
Reference: llama.cpp ``dequantize_row_q4_0`` ... ``dequantize_row_q1_0`` (ggml-quants.c);
bit-exact with gguf-py ``gguf.quants`` (one f32 rounding per operation, in numpy's order).
Q4_0 ... Q8_0 have fused matmul kernels (``FUSED``); Q8_1 and Q1_0 dequantize only.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._common import f16
from .gemv import blocks_prim, fma1, fma1x4, fused_prim, store1
from .simd import fast_lut16, ldh, ldw, viota, vload_i8, vload_u8, vlut16, vsel, vsplat_f, vsplat_i, vstore, vtof


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _d(w, o, lut):  # type: ignore[no-untyped-def]
    return f16(w, o, lut)


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _dm(w, o, lut):  # type: ignore[no-untyped-def]
    return f16(w, o, lut), f16(w, o + 2, lut)


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _q4_0_cvt(w, o, s, d, tab):  # type: ignore[no-untyped-def]
    q = vload_u8(w, o + 2, 16)
    return vtof((q & 15) - 8) * d, vtof((q >> 4) - 8) * d


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _q4_0_lut(w, o, s, d, tab):  # type: ignore[no-untyped-def]
    """As ``_q4_0_cvt`` with ``tab`` = -8..7: a permute replaces subtract + convert (~20% faster GEMV)."""
    q = vload_u8(w, o + 2, 16)
    return vlut16(tab, q & 15) * d, vlut16(tab, q >> 4) * d


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _q4_1_cvt(w, o, s, h, tab):  # type: ignore[no-untyped-def]
    d, m = h
    q = vload_u8(w, o + 4, 16)
    return vtof(q & 15) * d + m, vtof(q >> 4) * d + m


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _q4_1_lut(w, o, s, h, tab):  # type: ignore[no-untyped-def]
    """As ``_q4_1_cvt`` with ``tab`` = 0..15."""
    d, m = h
    q = vload_u8(w, o + 4, 16)
    return vlut16(tab, q & 15) * d + m, vlut16(tab, q >> 4) * d + m


LUT16 = fast_lut16()
"""Q4_0 / Q4_1 decode nibbles by a 16-entry permute where the target has one (``TABLES``)."""
_q4_0 = _q4_0_lut if LUT16 else _q4_0_cvt
_q4_1 = _q4_1_lut if LUT16 else _q4_1_cvt
TABLES = {"Q4_0": np.arange(-8, 8, dtype=np.float32), "Q4_1": np.arange(16, dtype=np.float32)} if LUT16 else {}


@nb.njit(inline="always")
def _high5(w, o):  # type: ignore[no-untyped-def]
    """Bit 4 of the 32 Q5 weights from the u32 ``qh`` at ``o``, as two i32x16 (0 or 16)."""
    qh = vsplat_i(ldw(w, o), 16)
    io = viota(16)
    return ((qh >> io) & 1) << 4, ((qh >> (io + 16)) & 1) << 4


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _q5_0(w, o, s, d, tab):  # type: ignore[no-untyped-def]
    h0, h1 = _high5(w, o + 2)
    q = vload_u8(w, o + 6, 16)
    return vtof(((q & 15) | h0) - 16) * d, vtof(((q >> 4) | h1) - 16) * d


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _q5_1(w, o, s, h, tab):  # type: ignore[no-untyped-def]
    d, m = h
    h0, h1 = _high5(w, o + 4)
    q = vload_u8(w, o + 8, 16)
    return vtof((q & 15) | h0) * d + m, vtof((q >> 4) | h1) * d + m


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _q8_0(w, o, s, d, tab):  # type: ignore[no-untyped-def]
    return vtof(vload_i8(w, o + 2, 16)) * d, vtof(vload_i8(w, o + 18, 16)) * d


@nb.njit(inline="always")
def _q8_1(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    d = f16(w, o, lut)
    vstore(y, yo, vtof(vload_i8(w, o + 4, 16)) * d)
    vstore(y, yo + 16, vtof(vload_i8(w, o + 20, 16)) * d)


@nb.njit(inline="always")
def _q1_0(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    d = f16(w, o, lut)
    pos = vsplat_f(d, 16)
    neg = vsplat_f(-d, 16)
    io = viota(16)
    for t in range(8):
        bits = (vsplat_i(ldh(w, o + 2 + 2 * t), 16) >> io) & 1
        vstore(y, yo + 16 * t, vsel(bits, pos, neg))


def q4_0(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_d, _q4_0, fma1, fma1x4, store1, 18, 32, op, xp, wp, nblk, yp, lp, tp, nt, kp)


def q4_1(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_dm, _q4_1, fma1, fma1x4, store1, 20, 32, op, xp, wp, nblk, yp, lp, tp, nt, kp)


def q5_0(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_d, _q5_0, fma1, fma1x4, store1, 22, 32, op, xp, wp, nblk, yp, lp, tp, nt, kp)


def q5_1(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_dm, _q5_1, fma1, fma1x4, store1, 24, 32, op, xp, wp, nblk, yp, lp, tp, nt, kp)


def q8_0(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_d, _q8_0, fma1, fma1x4, store1, 34, 32, op, xp, wp, nblk, yp, lp, tp, nt, kp)


def q8_1(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_q8_1, 36, 32, wp, nblk, yp, lp, tp, nt, kp)


def q1_0(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_q1_0, 18, 128, wp, nblk, yp, lp, tp, nt, kp)


FUSED = {"Q4_0": q4_0, "Q4_1": q4_1, "Q5_0": q5_0, "Q5_1": q5_1, "Q8_0": q8_0}
DEQUANT = {"Q8_1": q8_1, "Q1_0": q1_0}
