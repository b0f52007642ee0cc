"""Fused GEMV/small-M kernels for Q4_0, Q4_1, Q8_0, Q4_K and Q6_K: ``out [M, N] = x [M, K] @ W^T``.

Weights are decoded in registers inside the multiply-add (no block buffer) into a 32-lane
f32 accumulator per activation row, reduced once per output: the loops over a block's lanes
vectorize. prange runs over the N output rows. Block layouts: see ``legacy.py`` and
``kquants.py``. Reference: llama.cpp ``ggml_vec_dot_q4_0_q8_0`` and friends (ggml-cpu/quants.c),
here with f32 activations instead of q8 ones.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._common import s8
from .kquants import scale_min_k4

CODES = {"Q4_0": 0, "Q4_1": 1, "Q8_0": 2, "Q4_K": 3, "Q6_K": 4}


@nb.njit(inline="always")
def _f16(wr, o, lut):  # type: ignore[no-untyped-def]
    return lut[np.int32(wr[o]) | (np.int32(wr[o + 1]) << 8)]


@nb.njit(cache=True, parallel=True, fastmath=True)
def gemv(code, x, w2, n_rows, nbpr, bb, out, lut):  # type: ignore[no-untyped-def]
    """``w2``: the blocks as ``[N, row_bytes]``; ``x [M, K]`` f32; ``out [M, N]`` f32."""
    n_m = x.shape[0]
    for n in nb.prange(n_rows):
        wr = w2[n]
        acc = np.zeros((n_m, 32), np.float32)
        for b in range(nbpr):
            o = b * bb
            if code <= 2:
                xo = b * 32
                d = _f16(wr, o, lut)
                if code == 2:
                    for m in range(n_m):
                        for j in range(32):
                            acc[m, j] += (d * np.float32(s8(wr[o + 2 + j]))) * x[m, xo + j]
                    continue
                mn = _f16(wr, o + 2, lut) if code == 1 else np.float32(0.0)
                off = 8 if code == 0 else 0
                qo = o + 2 if code == 0 else o + 4
                for m in range(n_m):
                    for j in range(16):
                        v = np.int32(wr[qo + j])
                        acc[m, j] += (d * np.float32((v & 15) - off) + mn) * x[m, xo + j]
                        acc[m, j + 16] += (d * np.float32((v >> 4) - off) + mn) * x[m, xo + j + 16]
            elif code == 3:
                xo = b * 256
                d = _f16(wr, o, lut)
                dmin = _f16(wr, o + 2, lut)
                for sb in range(8):
                    sc, mnv = scale_min_k4(sb, wr, o + 4)
                    d1 = d * np.float32(sc)
                    m1 = dmin * np.float32(mnv)
                    sh = 4 * (sb & 1)
                    qo = o + 16 + 32 * (sb >> 1)
                    for m in range(n_m):
                        for j in range(32):
                            q = (np.int32(wr[qo + j]) >> sh) & 15
                            acc[m, j] += (d1 * np.float32(q) - m1) * x[m, xo + 32 * sb + j]
            else:
                xo = b * 256
                d = _f16(wr, o + 208, lut)
                for c in range(2):
                    for t in range(4):
                        lo = o + 64 * c + 32 * (t & 1)
                        sh = 4 * (t >> 1)
                        ho = o + 128 + 32 * c
                        d0 = d * np.float32(s8(wr[o + 192 + 8 * c + 2 * t]))
                        d1 = d * np.float32(s8(wr[o + 193 + 8 * c + 2 * t]))
                        for m in range(n_m):
                            for j in range(32):
                                q = ((np.int32(wr[lo + j]) >> sh) & 15) | (((np.int32(wr[ho + j]) >> (2 * t)) & 3) << 4)
                                dl = d0 if j < 16 else d1
                                acc[m, j] += (dl * np.float32(q - 32)) * x[m, xo + 128 * c + 32 * t + j]
        for m in range(n_m):
            out[m, n] = acc[m].sum()
