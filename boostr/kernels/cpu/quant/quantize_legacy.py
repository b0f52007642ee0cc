"""Quantizers of the 32-weight legacy formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1) and Q1_0.

Block layouts: see ``legacy.py``. Per block of 32 (f32 arithmetic throughout):
- Q4_0/Q5_0: ``max`` = the value of largest |x| (first), ``d = max / -8`` (``-16``), ``id = 1/d``,
  ``q = min(15, trunc(x*id + 8.5))`` (``min(31, trunc(x*id + 16.5))``)
- Q4_1/Q5_1: ``d = (max - min) / 15`` (``31``), ``q = min(15|31, trunc((x - min)*id + 0.5))``, m = min
- Q8_0/Q8_1: ``d = amax / 127``, ``q = roundf(x * id)``; Q8_1 also ``s = f16(sum(q) * d)``
- Q1_0 (128): ``d = sum|x| / 128``, bit j set iff ``x_j >= 0``
Scales are stored as f16 with round-to-nearest-even.
Reference: llama.cpp ``quantize_row_q4_0_ref`` ... ``quantize_row_q8_1_ref``, ``quantize_row_q1_0_ref``
(ggml-quants.c); bit-exact with gguf-py ``gguf.quants.quantize`` where it implements the format.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._common import F0, F1, HALF, put_f16, put_u32

CODES = {"Q4_0": 0, "Q4_1": 1, "Q5_0": 2, "Q5_1": 3, "Q8_0": 4, "Q8_1": 5, "Q1_0": 6}


@nb.njit(inline="always")
def roundf(v):  # type: ignore[no-untyped-def]
    """C ``roundf`` (half away from zero), exact in f32 (gguf-py ``np_roundf``)."""
    a = abs(v)
    fl = np.float32(math.floor(a))
    b = fl + np.float32(math.floor(np.float32(2.0) * (a - fl)))
    return np.int64(-b if v < 0 else b)


@nb.njit(inline="always")
def _signed_max(x, xo, n):  # type: ignore[no-untyped-def]
    amax = F0
    mx = F0
    for j in range(n):
        v = x[xo + j]
        if amax < abs(v):
            amax = abs(v)
            mx = v
    return amax, mx


@nb.njit(cache=True)
def encode_block(code, x, xo, w, o):  # type: ignore[no-untyped-def]
    """Quantize ``x[xo:xo+block]`` into the block at byte ``o`` of ``w``."""
    if code == 0 or code == 2:
        _, mx = _signed_max(x, xo, 32)
        d = mx / np.float32(-8.0 if code == 0 else -16.0)
        idv = F1 / d if d != 0 else F0
        put_f16(w, o, d)
        top = 15 if code == 0 else 31
        off = np.float32(8.5 if code == 0 else 16.5)
        qh = 0
        qs = o + 2 if code == 0 else o + 6
        for j in range(16):
            q0 = min(top, np.int64(x[xo + j] * idv + off))
            q1 = min(top, np.int64(x[xo + j + 16] * idv + off))
            w[qs + j] = (q0 & 15) | ((q1 & 15) << 4)
            qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16))
        if code == 2:
            put_u32(w, o + 2, qh)
    elif code == 1 or code == 3:
        lo = x[xo]
        hi = x[xo]
        for j in range(32):
            lo = min(lo, x[xo + j])
            hi = max(hi, x[xo + j])
        top = 15 if code == 1 else 31
        d = (hi - lo) / np.float32(top)
        idv = F1 / d if d != 0 else F0
        put_f16(w, o, d)
        put_f16(w, o + 2, lo)
        qh = 0
        qs = o + 4 if code == 1 else o + 8
        for j in range(16):
            q0 = min(top, np.int64((x[xo + j] - lo) * idv + HALF))
            q1 = min(top, np.int64((x[xo + j + 16] - lo) * idv + HALF))
            w[qs + j] = (q0 & 15) | ((q1 & 15) << 4)
            qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16))
        if code == 3:
            put_u32(w, o + 4, qh)
    elif code == 4 or code == 5:
        amax = F0
        for j in range(32):
            amax = max(amax, abs(x[xo + j]))
        d = amax / np.float32(127.0)
        idv = F1 / d if d != 0 else F0
        put_f16(w, o, d)
        qo = o + 2 if code == 4 else o + 4
        total = 0
        for j in range(32):
            q = roundf(x[xo + j] * idv)
            total += q
            w[qo + j] = q & 0xFF
        if code == 5:
            put_f16(w, o + 2, np.float32(total) * d)
    else:
        sa = F0
        for j in range(128):
            sa += abs(x[xo + j])
        put_f16(w, o, sa / np.float32(128.0))
        for j in range(16):
            b = 0
            for t in range(8):
                if x[xo + 8 * j + t] >= F0:
                    b |= 1 << t
            w[o + 2 + j] = b


@nb.njit(cache=True, parallel=True)
def quantize(code, x, nblk, bb, be, w, aux):  # type: ignore[no-untyped-def]
    for b in nb.prange(nblk):
        encode_block(code, x, b * be, w, b * bb)


def prepare(code: int, x: np.ndarray, be: int) -> np.ndarray:
    """No per-block inputs: an empty aux array."""
    return np.zeros(0, dtype=np.float32)
