"""Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as
1, 2, 3", SC'11), written from the paper with Python integers, plus the mapping
of ``KernelHooks._k_random`` to uniform / normal / randint.

Known answer (Random123 ``kat_vectors``): counter 0, key 0 gives
``6627e8d5 e169c58d bc57ac4c 9b00dbd8``.
"""

from __future__ import annotations

import math

import numpy as np

PHILOX_M = (0xD2511F53, 0xCD9E8D57)  # round multipliers
PHILOX_W = (0x9E3779B9, 0xBB67AE85)  # Weyl key increments (golden ratio, sqrt(3) - 1)
MASK32 = 0xFFFFFFFF


def philox4x32_10(counter: tuple[int, int, int, int], key: tuple[int, int]) -> tuple[int, int, int, int]:
    """Ten Philox rounds on a 4 x 32-bit counter with a 2 x 32-bit key."""
    c0, c1, c2, c3 = (c & MASK32 for c in counter)
    k0, k1 = (k & MASK32 for k in key)
    for rnd in range(10):
        if rnd:
            k0 = (k0 + PHILOX_W[0]) & MASK32
            k1 = (k1 + PHILOX_W[1]) & MASK32
        prod0 = PHILOX_M[0] * c0
        prod1 = PHILOX_M[1] * c2
        hi0, lo0 = prod0 >> 32, prod0 & MASK32
        hi1, lo1 = prod1 >> 32, prod1 & MASK32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def philox_words(n: int, seed: int, offset: int) -> np.ndarray:
    """``[n, 4]`` uint32 outputs for flat elements ``0..n-1`` (the layout of ``_k_random``)."""
    key = (seed & MASK32, (seed >> 32) & MASK32)
    out = np.empty((n, 4), np.uint32)
    for i in range(n):
        out[i] = philox4x32_10((i & MASK32, i >> 32, offset & MASK32, (offset >> 32) & MASK32), key)
    return out


def uniform(n: int, seed: int, offset: int, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """``low + (high - low) * u`` with ``u = (r0 >> 8) / 2**24`` (float64)."""
    r0 = philox_words(n, seed, offset)[:, 0].astype(np.int64)
    u = (r0 >> 8).astype(np.float64) / float(1 << 24)
    return low + (high - low) * u


def normal(n: int, seed: int, offset: int, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """Box-Muller on ``u1 = ((r0 >> 8) + 1) / 2**24`` (never 0) and ``u2 = (r1 >> 8) / 2**24``."""
    w = philox_words(n, seed, offset).astype(np.int64)
    out = np.empty(n, np.float64)
    for i in range(n):
        u1 = ((int(w[i, 0]) >> 8) + 1) / float(1 << 24)
        u2 = (int(w[i, 1]) >> 8) / float(1 << 24)
        out[i] = mean + std * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
    return out


def randint(n: int, seed: int, offset: int, low: int, high: int) -> np.ndarray:
    """``low + ((r0 * (high - low)) >> 32)`` exactly (the high word of a 64-bit product)."""
    w = philox_words(n, seed, offset)
    span = high - low
    return np.array([low + ((int(r) * span) >> 32) for r in w[:, 0]], dtype=np.int64)
