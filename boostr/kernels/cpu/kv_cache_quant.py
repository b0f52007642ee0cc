"""KV-cache int8 / int4 quantization on the CPU (numba), bit-identical to the generic composite.

Formulas (f32, IEEE division, ``rint`` half to even; no fastmath so the rounding matches):
int8 per row ``s = amax / 127`` (1 if 0), ``q = clamp(rint(x / s), -127, 127)``;
int4 per group ``z = min``, ``s = (max - min) / 15`` (1 if 0), ``q = clamp(rint((x - z) / s), 0, 15)``,
packed ``byte[i] = q[2i] | q[2i + 1] << 4``. Dequant: ``q * s`` and ``q * s + z``.
Layout: rows ``x [R, D]`` f32; int8 ``q [R, D]`` i8, ``s [R]``; int4 ``q [R, D/2]`` u8, ``s, z [R, D/g]``.
Reference: KIVI (Liu et al., 2024) for asymmetric per-group KV quantization.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, parallel=True)
def quant_int8(x, q, s):  # type: ignore[no-untyped-def]
    rows, d = x.shape
    for r in nb.prange(rows):
        amax = np.float32(0.0)
        for j in range(d):
            amax = max(amax, abs(x[r, j]))
        sc = amax / np.float32(127.0)
        if sc == 0.0:
            sc = np.float32(1.0)
        s[r] = sc
        for j in range(d):
            q[r, j] = np.int8(min(max(np.rint(x[r, j] / sc), np.float32(-127.0)), np.float32(127.0)))


@nb.njit(cache=True, parallel=True)
def dequant_int8(q, s, out):  # type: ignore[no-untyped-def]
    rows, d = q.shape
    for r in nb.prange(rows):
        for j in range(d):
            out[r, j] = np.float32(q[r, j]) * s[r]


@nb.njit(cache=True, parallel=True)
def quant_int4(x, g, q, s, z):  # type: ignore[no-untyped-def]
    rows, d = x.shape
    for r in nb.prange(rows):
        for k in range(d // g):
            mn = x[r, k * g]
            mx = x[r, k * g]
            for j in range(k * g, k * g + g):
                mn = min(mn, x[r, j])
                mx = max(mx, x[r, j])
            sc = (mx - mn) / np.float32(15.0)
            if sc == 0.0:
                sc = np.float32(1.0)
            s[r, k] = sc
            z[r, k] = mn
            for j in range(k * g, k * g + g, 2):
                lo = min(max(np.rint((x[r, j] - mn) / sc), np.float32(0.0)), np.float32(15.0))
                hi = min(max(np.rint((x[r, j + 1] - mn) / sc), np.float32(0.0)), np.float32(15.0))
                q[r, j // 2] = np.uint8(np.int32(lo) | (np.int32(hi) << 4))


@nb.njit(cache=True, parallel=True)
def dequant_int4(q, s, z, g, out):  # type: ignore[no-untyped-def]
    rows, d = out.shape
    for r in nb.prange(rows):
        for j in range(0, d, 2):
            b = np.int32(q[r, j // 2])
            k = j // g
            out[r, j] = np.float32(b & 15) * s[r, k] + z[r, k]
            out[r, j + 1] = np.float32(b >> 4) * s[r, k] + z[r, k]
