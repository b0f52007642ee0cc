"""Philox4x32-10 counter-based random numbers (Salmon et al., SC'11), as numba.

For flat element i: key = (seed lo, seed hi), counter = (i lo, i hi, offset lo,
offset hi); see ``boostr.runtime.hooks.KernelHooks._k_random`` for the mapping
to uniform / normal / randint. CUDA and WGSL implement the same bits.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

M0 = np.uint64(0xD2511F53)
M1 = np.uint64(0xCD9E8D57)
W0 = np.uint32(0x9E3779B9)
W1 = np.uint32(0xBB67AE85)
MASK = np.uint64(0xFFFFFFFF)


@nb.njit(cache=True, inline="always")
def philox4x32_10(c0, c1, c2, c3, k0, k1):  # type: ignore[no-untyped-def]
    for _ in range(10):
        p0 = M0 * np.uint64(c0)
        p1 = M1 * np.uint64(c2)
        hi0 = np.uint32(p0 >> np.uint64(32))
        lo0 = np.uint32(p0 & MASK)
        hi1 = np.uint32(p1 >> np.uint64(32))
        lo1 = np.uint32(p1 & MASK)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = np.uint32(k0 + W0)
        k1 = np.uint32(k1 + W1)
    return c0, c1, c2, c3


@nb.njit(cache=True, parallel=True)
def philox_fill(out, dist, seed, offset, a, b):  # type: ignore[no-untyped-def]
    """Fill the 1-D ``out``: dist 0 uniform [a, b), 1 normal(a, b), 2 randint [a, b)."""
    k0 = np.uint32(seed & 0xFFFFFFFF)
    k1 = np.uint32((seed >> 32) & 0xFFFFFFFF)
    o0 = np.uint32(offset & 0xFFFFFFFF)
    o1 = np.uint32((offset >> 32) & 0xFFFFFFFF)
    span = np.uint64(int(b - a)) if dist == 2 else np.uint64(0)
    lo = int(a)
    for i in nb.prange(out.shape[0]):
        r0, r1, _, _ = philox4x32_10(np.uint32(i & 0xFFFFFFFF), np.uint32((i >> 32) & 0xFFFFFFFF), o0, o1, k0, k1)
        if dist == 0:
            out[i] = a + (b - a) * (np.float64(r0 >> np.uint32(8)) * (1.0 / 16777216.0))
        elif dist == 1:
            u1 = (np.float64(r0 >> np.uint32(8)) + 1.0) * (1.0 / 16777216.0)
            u2 = np.float64(r1 >> np.uint32(8)) * (1.0 / 16777216.0)
            out[i] = a + b * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        else:
            out[i] = lo + np.int64((np.uint64(r0) * span) >> np.uint64(32))
