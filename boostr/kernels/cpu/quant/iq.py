"""IQ formats (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ4_NL, IQ4_XS): block decoders.

Grids (``iq2xxs_grid`` ...) and ``ksigns_iq2xs`` come from gguf-py's class attributes at
import time (``boostr.kernels.cpu.quant.tables``), never retyped. Layouts (little endian,
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
bit-exact with gguf-py ``gguf.quants`` (same f32 operation order).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._common import f16at, u16, u32
from .tables import DELTA_IQ1, KVALUES_IQ4NL

CODES = {
    "IQ2_XXS": 0, "IQ2_XS": 1, "IQ2_S": 2, "IQ3_XXS": 3, "IQ3_S": 4, "IQ1_S": 5, "IQ1_M": 6,
    "IQ4_NL": 7, "IQ4_XS": 8,
}  # fmt: skip

Q25 = np.float32(0.25)
HALF = np.float32(0.5)


@nb.njit(inline="always")
def _signed8(y, yo, db, grid, idx, sbyte):  # type: ignore[no-untyped-def]
    for j in range(8):
        v = db * grid[idx, j]
        y[yo + j] = -v if (sbyte >> j) & 1 else v


@nb.njit(inline="always")
def _nib_scale(w, s_off, s):  # type: ignore[no-untyped-def]
    return (np.int64(w[s_off + (s >> 1)]) >> (4 * (s & 1))) & 15


@nb.njit(cache=True)
def decode_block(code, w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    """Decode the block at byte ``o`` of ``w`` into ``y[yo:yo+block_elems]`` (f32)."""
    if code == 0:
        d = f16at(w, o, lut)
        for ib in range(8):
            aux = u32(w, o + 6 + 8 * ib)
            db = d * (HALF + np.float32(aux >> 28)) * Q25
            for lg in range(4):
                idx = np.int64(w[o + 2 + 8 * ib + lg])
                _signed8(y, yo + 32 * ib + 8 * lg, db, grid, idx, np.int64(ks[(aux >> (7 * lg)) & 127]))
    elif code == 1 or code == 2:
        d = f16at(w, o, lut)
        s_off = o + 66 if code == 1 else o + 74
        for g in range(32):
            db = d * (HALF + np.float32(_nib_scale(w, s_off, g >> 1))) * Q25
            if code == 1:
                q = u16(w, o + 2 + 2 * g)
                _signed8(y, yo + 8 * g, db, grid, q & 511, np.int64(ks[q >> 9]))
            else:
                idx = np.int64(w[o + 2 + g]) | (((np.int64(w[o + 66 + (g >> 2)]) >> (2 * (g & 3))) & 3) << 8)
                _signed8(y, yo + 8 * g, db, grid, idx, np.int64(w[o + 34 + g]))
    elif code == 3 or code == 4:
        d = f16at(w, o, lut)
        for ib in range(8):
            if code == 3:
                aux = u32(w, o + 66 + 4 * ib)
                db = d * (HALF + np.float32(aux >> 28)) * HALF
            else:
                db = d * np.float32(1 + 2 * _nib_scale(w, o + 106, ib))
            for lg in range(4):
                g = 4 * ib + lg
                sbyte = np.int64(ks[(aux >> (7 * lg)) & 127]) if code == 3 else np.int64(w[o + 74 + g])
                for h in range(2):
                    k = 2 * g + h
                    idx = np.int64(w[o + 2 + k])
                    if code == 4:
                        idx |= ((np.int64(w[o + 66 + (k >> 3)]) >> (k & 7)) & 1) << 8
                    for j in range(4):
                        v = db * grid[idx, j]
                        y[yo + 8 * g + 4 * h + j] = -v if (sbyte >> (4 * h + j)) & 1 else v
    elif code == 5:
        d = f16at(w, o, lut)
        for ib in range(8):
            qh = u16(w, o + 34 + 2 * ib)
            dl = d * np.float32(2 * ((qh >> 12) & 7) + 1)
            delta = -DELTA_IQ1 if qh & 0x8000 else DELTA_IQ1
            for lg in range(4):
                idx = np.int64(w[o + 2 + 4 * ib + lg]) | (((qh >> (3 * lg)) & 7) << 8)
                for j in range(8):
                    y[yo + 32 * ib + 8 * lg + j] = dl * (grid[idx, j] + delta)
    elif code == 6:
        s0, s1, s2, s3 = u16(w, o + 48), u16(w, o + 50), u16(w, o + 52), u16(w, o + 54)
        d = lut[(s0 >> 12) | ((s1 >> 8) & 0xF0) | ((s2 >> 4) & 0xF00) | (s3 & 0xF000)]
        for g in range(32):
            s = g >> 1
            sv = (u16(w, o + 48 + 2 * (s >> 2)) >> (3 * (s & 3))) & 7
            dl = d * np.float32(2 * sv + 1)
            qh = np.int64(w[o + 32 + (g >> 1)]) >> (4 * (g & 1))
            idx = np.int64(w[o + g]) | ((qh & 7) << 8)
            delta = -DELTA_IQ1 if qh & 8 else DELTA_IQ1
            for j in range(8):
                y[yo + 8 * g + j] = dl * (grid[idx, j] + delta)
    elif code == 7:
        d = f16at(w, o, lut)
        for j in range(16):
            b = np.int64(w[o + 2 + j])
            y[yo + j] = d * KVALUES_IQ4NL[b & 15]
            y[yo + j + 16] = d * KVALUES_IQ4NL[b >> 4]
    else:
        d = f16at(w, o, lut)
        sh = u16(w, o + 2)
        for ib in range(8):
            ls = _nib_scale(w, o + 4, ib) | (((sh >> (2 * ib)) & 3) << 4)
            dl = d * np.float32(ls - 32)
            for j in range(16):
                b = np.int64(w[o + 8 + 16 * ib + j])
                y[yo + 32 * ib + j] = dl * KVALUES_IQ4NL[b & 15]
                y[yo + 32 * ib + j + 16] = dl * KVALUES_IQ4NL[b >> 4]


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
