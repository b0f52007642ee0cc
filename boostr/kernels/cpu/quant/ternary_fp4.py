"""Ternary TQ1_0, TQ2_0 and 4-bit float MXFP4, NVFP4: block decoders.

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
ggml-impl.h); bit-exact with gguf-py ``gguf.quants``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._common import f16at
from .tables import KVALUES_MXFP4

CODES = {"TQ1_0": 0, "TQ2_0": 1, "MXFP4": 2, "NVFP4": 3}
POW3 = np.array([1, 3, 9, 27, 81], dtype=np.int64)


@nb.njit(inline="always")
def _trits(w, qo, y, yo, d, nbytes, ntrits):  # type: ignore[no-untyped-def]
    for n in range(ntrits):
        for m in range(nbytes):
            q = (np.int64(w[qo + m]) * POW3[n]) & 255
            y[yo + n * nbytes + m] = d * np.float32(((q * 3) >> 8) - 1)


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


@nb.njit(cache=True)
def decode_block(code, w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    """Decode the block at byte ``o`` of ``w`` into ``y[yo:yo+block_elems]`` (f32)."""
    if code == 0:
        d = f16at(w, o + 52, lut)
        _trits(w, o, y, yo, d, 32, 5)
        _trits(w, o + 32, y, yo + 160, d, 16, 5)
        _trits(w, o + 48, y, yo + 240, d, 4, 4)
    elif code == 1:
        d = f16at(w, o + 64, lut)
        for e in range(256):
            q = (np.int64(w[o + 32 * (e >> 7) + (e & 31)]) >> (2 * ((e >> 5) & 3))) & 3
            y[yo + e] = d * np.float32(q - 1)
    elif code == 2:
        d = np.float32(math.ldexp(1.0, np.int64(w[o]) - 128))
        for j in range(16):
            b = np.int64(w[o + 1 + j])
            y[yo + j] = d * KVALUES_MXFP4[b & 15]
            y[yo + j + 16] = d * KVALUES_MXFP4[b >> 4]
    else:
        for s in range(4):
            d = ue4m3_half(w[o + s])
            for j in range(8):
                b = np.int64(w[o + 4 + 8 * s + j])
                y[yo + 16 * s + j] = d * KVALUES_MXFP4[b & 15]
                y[yo + 16 * s + 8 + j] = d * KVALUES_MXFP4[b >> 4]


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
