"""Legacy 32-weight formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 and the 128-weight Q1_0: block decoders.

Block layouts (little endian, ``ggml-common.h``), value of weight j:
- Q4_0 (18 B): f16 d, u8 qs[16]; j<16: lo nibble of qs[j], else hi nibble of qs[j-16]; ``d * (q - 8)``
- Q4_1 (20 B): f16 d, f16 m, u8 qs[16]; same nibbles; ``d * q + m``
- Q5_0 (22 B): f16 d, u32 qh, u8 qs[16]; q = nibble | bit j of qh << 4; ``d * (q - 16)``
- Q5_1 (24 B): f16 d, f16 m, u32 qh, u8 qs[16]; ``d * q + m``
- Q8_0 (34 B): f16 d, i8 qs[32]; ``d * q``
- Q8_1 (36 B): f16 d, f16 s (= d * sum q), i8 qs[32]; ``d * q``
- Q1_0 (18 B, 128 weights): f16 d, u8 qs[16]; bit j (LSB first) set -> ``+d`` else ``-d``
Reference: llama.cpp ``dequantize_row_q4_0`` ... ``dequantize_row_q1_0`` (ggml-quants.c);
bit-exact with gguf-py ``gguf.quants`` (f32 arithmetic in the same order).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._common import f16at, s8, u32

CODES = {"Q4_0": 0, "Q4_1": 1, "Q5_0": 2, "Q5_1": 3, "Q8_0": 4, "Q8_1": 5, "Q1_0": 6}


@nb.njit(inline="always")
def _nibbles(w, q, y, yo, d, m, off, has_min):  # type: ignore[no-untyped-def]
    for j in range(16):
        b = np.int64(w[q + j])
        lo = np.float32((b & 15) - off)
        hi = np.float32((b >> 4) - off)
        if has_min:
            y[yo + j] = d * lo + m
            y[yo + j + 16] = d * hi + m
        else:
            y[yo + j] = d * lo
            y[yo + j + 16] = d * hi


@nb.njit(inline="always")
def _nibbles5(w, q, qh, y, yo, d, m, off, has_min):  # type: ignore[no-untyped-def]
    for j in range(16):
        b = np.int64(w[q + j])
        lo = np.float32(((b & 15) | (((qh >> j) & 1) << 4)) - off)
        hi = np.float32(((b >> 4) | (((qh >> (j + 16)) & 1) << 4)) - off)
        if has_min:
            y[yo + j] = d * lo + m
            y[yo + j + 16] = d * hi + m
        else:
            y[yo + j] = d * lo
            y[yo + j + 16] = d * hi


@nb.njit(cache=True)
def decode_block(code, w, o, y, yo, lut, grid, ks):  # type: ignore[no-untyped-def]
    """Decode the block at byte ``o`` of ``w`` into ``y[yo:yo+block_elems]`` (f32)."""
    d = f16at(w, o, lut)
    if code == 0:
        _nibbles(w, o + 2, y, yo, d, d, 8, False)
    elif code == 1:
        _nibbles(w, o + 4, y, yo, d, f16at(w, o + 2, lut), 0, True)
    elif code == 2:
        _nibbles5(w, o + 6, u32(w, o + 2), y, yo, d, d, 16, False)
    elif code == 3:
        _nibbles5(w, o + 8, u32(w, o + 4), y, yo, d, f16at(w, o + 2, lut), 0, True)
    elif code == 4 or code == 5:
        q = o + 2 if code == 4 else o + 4
        for j in range(32):
            y[yo + j] = np.float32(s8(w[q + j])) * d
    else:
        nd = -d
        for j in range(128):
            y[yo + j] = d if (np.int64(w[o + 2 + (j >> 3)]) >> (j & 7)) & 1 else nd


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
