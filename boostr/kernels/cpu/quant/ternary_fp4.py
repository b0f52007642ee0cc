"""Ternary TQ1_0, TQ2_0 and 4-bit float MXFP4, NVFP4.

Block layouts (little endian, ``ggml-common.h``):
- TQ1_0 (54 B, 256 weights): u8 qs[48] (5 trits per byte, base-3 fixed point), u8 qh[4]
  (4 trits per byte), f16 d; trit n of byte b: ``((b * 3^n mod 256) * 3) >> 8``; weight ``d * (t - 1)``.
  Order: qs[0:32] trits n=0..4 -> weights n*32+m; qs[32:48] -> 160+n*16+m; qh -> 240+n*4+m.
- TQ2_0 (66 B, 256 weights): u8 qs[64] (2-bit, weight c*128+s*32+m at bits 2s of qs[32c+m]), f16 d
- MXFP4 (17 B, 32 weights): u8 e (E8M0), u8 qs[16] (e2m1 nibbles); ``2^(e-128) * kvalues_mxfp4[q]``
- NVFP4 (36 B, 64 weights): u8 d[4] (UE4M3 per 16), u8 qs[32]; sub-block s: lo nibbles of
  qs[8s:8s+8] -> weights 16s..16s+7, hi nibbles -> 16s+8..16s+15; ``ue4m3(d[s])/2 * kvalues_mxfp4[q]``
Reference: llama.cpp ``dequantize_row_tq1_0``, ``dequantize_row_tq2_0``, ``dequantize_row_mxfp4``,
``dequantize_row_nvfp4``, ``ggml_e8m0_to_fp32_half``, ``ggml_ue4m3_to_fp32`` (ggml-quants.c,
ggml-impl.h); bit-exact with gguf-py ``gguf.quants``. MXFP4 has a fused matmul kernel
(``tab`` = kvalues_mxfp4); the others dequantize only (``grid`` = kvalues_mxfp4 for NVFP4).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._common import f16
from .gemv import blocks_prim, fma1, fma1x4, fused_prim, store1
from .simd import ldb, ldf, vgather, vload_u8, vlut16, vstore, vtof


@nb.njit(inline="always")
def _trits16(w, qo, y, yo, d, p3):  # type: ignore[no-untyped-def]
    """16 weights: trit of power ``p3`` of the bytes ``w[qo:qo+16]``."""
    q = (vload_u8(w, qo, 16) * p3) & 255
    vstore(y, yo, vtof(((q * 3) >> 8) - 1) * d)


@nb.njit(inline="always")
def _tq1_0(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    d = f16(w, o + 52, lut)
    p3 = 1
    for n in range(5):
        _trits16(w, o, y, yo + 32 * n, d, p3)
        _trits16(w, o + 16, y, yo + 32 * n + 16, d, p3)
        _trits16(w, o + 32, y, yo + 160 + 16 * n, d, p3)
        p3 *= 3
    p3 = 1
    for n in range(4):
        for m in range(4):
            q = (ldb(w, o + 48 + m) * p3) & 255
            y[yo + 240 + 4 * n + m] = d * np.float32(((q * 3) >> 8) - 1)
        p3 *= 3


@nb.njit(inline="always")
def _tq2_0(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    d = f16(w, o + 64, lut)
    for s in range(8):
        qo = o + 32 * (s >> 2)
        sh = 2 * (s & 3)
        vstore(y, yo + 32 * s, vtof(((vload_u8(w, qo, 16) >> sh) & 3) - 1) * d)
        vstore(y, yo + 32 * s + 16, vtof(((vload_u8(w, qo + 16, 16) >> sh) & 3) - 1) * d)


@nb.njit(inline="always")
def ue4m3_half(x):  # type: ignore[no-untyped-def]
    """``ggml_ue4m3_to_fp32(x)`` with the 0.5 factor of the kvalues_mxfp4 convention."""
    x = np.int64(x)
    if x == 0 or x == 0x7F:
        return np.float32(0.0)
    e = (x >> 3) & 15
    m = x & 7
    raw = m * 2.0**-9 if e == 0 else (1.0 + m / 8.0) * math.ldexp(1.0, e - 7)
    return np.float32(raw * 0.5)


@nb.njit(inline="always")
def _nvfp4(w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    for s in range(4):
        d = ue4m3_half(ldb(w, o + s))
        q = vload_u8(w, o + 4 + 8 * s, 8)
        vstore(y, yo + 16 * s, vgather(grid, q & 15) * d)
        vstore(y, yo + 16 * s + 8, vgather(grid, q >> 4) * d)


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _h_mxfp4(w, o, lut):  # type: ignore[no-untyped-def]
    return ldf(lut, 65536 + ldb(w, o))  # E8M0 2^(e-128), exact, from the table after the f16 one


@nb.njit  # a callee: LLVM inlines it into the cached primitive
def _mxfp4(w, o, s, d, tab):  # type: ignore[no-untyped-def]
    q = vload_u8(w, o + 1, 16)
    return vlut16(tab, q & 15) * d, vlut16(tab, q >> 4) * d


def tq1_0(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_tq1_0, 54, 256, wp, nblk, yp, lp, tp, nt, kp)


def tq2_0(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_tq2_0, 66, 256, wp, nblk, yp, lp, tp, nt, kp)


def nvfp4(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return blocks_prim(_nvfp4, 36, 64, wp, nblk, yp, lp, tp, nt, kp)


def mxfp4(op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    return fused_prim(_h_mxfp4, _mxfp4, fma1, fma1x4, store1, 17, 32, op, xp, wp, nblk, yp, lp, tp, nt, kp)


FUSED = {"MXFP4": mxfp4}
DEQUANT = {"TQ1_0": tq1_0, "TQ2_0": tq2_0, "NVFP4": nvfp4}
