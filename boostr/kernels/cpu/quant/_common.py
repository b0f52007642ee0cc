"""Shared helpers of the quantization kernels: byte reads, f16 decode/encode, rounding.

Every helper computes in float32 exactly as llama.cpp's C does (``GGML_FP16_TO_FP32``,
``GGML_FP32_TO_FP16`` round-to-nearest-even, ``nearest_int`` of ``ggml-quants.c``),
so decoders are bit-exact with gguf-py and encoders follow the C reference.
Python float literals would promote to float64 in numba: constants here are f32.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .simd import ldf, ldh

F16_LUT = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)
"""f16 bits -> f32 value (bit-exact decode of every half, inf and nan included)."""

F0 = np.float32(0.0)
F1 = np.float32(1.0)
HALF = np.float32(0.5)
MAGIC = np.float32(12582912.0)


@nb.njit(inline="always")
def u16(w, o):  # type: ignore[no-untyped-def]
    return np.int64(w[o]) | (np.int64(w[o + 1]) << 8)


@nb.njit(inline="always")
def u32(w, o):  # type: ignore[no-untyped-def]
    return u16(w, o) | (u16(w, o + 2) << 16)


@nb.njit(inline="always")
def s8(v):  # type: ignore[no-untyped-def]
    v = np.int64(v)
    return v - 256 if v > 127 else v


@nb.njit(inline="always")
def f16at(w, o, lut):  # type: ignore[no-untyped-def]
    return lut[u16(w, o)]


@nb.njit(inline="always")
def f16(w, o, lut):  # type: ignore[no-untyped-def]
    """The f16 at byte ``o`` of ``w`` as f32: one u16 load and one table load (no wraparound code)."""
    return ldf(lut, ldh(w, o))


@nb.njit(inline="always")
def nearest_int(f):  # type: ignore[no-untyped-def]
    """llama.cpp ``nearest_int``: round half to even through the 1.5*2^23 trick, in f32."""
    v = np.float32(np.float32(f) + MAGIC)
    return np.int64(v) - 12582912


@nb.njit(inline="always")
def f16_round(f):  # type: ignore[no-untyped-def]
    """The f32 value of ``GGML_FP32_TO_FP16(f)`` (round to nearest even; overflow -> inf)."""
    f = np.float32(f)
    a = abs(np.float64(f))
    if a == 0.0 or a != a or a == math.inf:
        return f
    _, e = math.frexp(a)  # a = m * 2^e, m in [0.5, 1)
    ulp_e = max(e - 11, -24)  # half keeps 11 significant bits; subnormal ulp is 2^-24
    ulp = math.ldexp(1.0, ulp_e)
    q = a / ulp
    r = math.floor(q)
    rem = q - r
    if rem > 0.5 or (rem == 0.5 and r % 2.0 == 1.0):
        r += 1.0
    v = r * ulp
    if v > 65504.0:
        v = math.inf
    return np.float32(-v if f < 0 else v)


@nb.njit(inline="always")
def f16_bits(h):  # type: ignore[no-untyped-def]
    """Half bits of an f32 value that a half holds exactly (the output of f16_round)."""
    h = np.float64(h)
    s = 0x8000 if (h < 0.0 or (h == 0.0 and math.copysign(1.0, h) < 0.0)) else 0
    a = abs(h)
    if a == 0.0:
        return s
    if a == math.inf:
        return s | 0x7C00
    if a != a:
        return 0x7E00
    m, e = math.frexp(a)
    big_e = e - 1 + 15
    if big_e >= 1:
        return s | (big_e << 10) | np.int64((m * 2.0 - 1.0) * 1024.0)
    return s | np.int64(a * 16777216.0)


@nb.njit(inline="always")
def put_f16(w, o, f):  # type: ignore[no-untyped-def]
    """Store ``GGML_FP32_TO_FP16(f)`` at byte ``o``; returns the rounded value as f32."""
    r = f16_round(f)
    b = f16_bits(r)
    w[o] = b & 0xFF
    w[o + 1] = (b >> 8) & 0xFF
    return r


@nb.njit(inline="always")
def put_u16(w, o, v):  # type: ignore[no-untyped-def]
    w[o] = v & 0xFF
    w[o + 1] = (v >> 8) & 0xFF


@nb.njit(inline="always")
def put_u32(w, o, v):  # type: ignore[no-untyped-def]
    put_u16(w, o, v & 0xFFFF)
    put_u16(w, o + 2, (v >> 16) & 0xFFFF)


@nb.njit(inline="always")
def f32at(w, o):  # type: ignore[no-untyped-def]
    """The little-endian f32 at byte ``o`` (exact, subnormals and inf/nan included)."""
    bits = u32(w, o)
    e = (bits >> 23) & 255
    mant = bits & 0x7FFFFF
    if e == 255:
        v = math.inf if mant == 0 else math.nan
    elif e == 0:
        v = math.ldexp(np.float64(mant), -149)
    else:
        v = math.ldexp(np.float64(mant | 0x800000), e - 150)
    return np.float32(-v if bits >> 31 else v)


@nb.njit(inline="always")
def put_f32(w, o, v):  # type: ignore[no-untyped-def]
    """Store the f32 ``v`` little endian at byte ``o`` (finite values; the inverse of f32at)."""
    h = np.float64(np.float32(v))
    s = 1 << 31 if (h < 0.0 or (h == 0.0 and math.copysign(1.0, h) < 0.0)) else 0
    a = abs(h)
    if a == 0.0:
        bits = s
    else:
        m, e = math.frexp(a)
        big_e = e - 1 + 127
        if big_e >= 1:
            bits = s | (big_e << 23) | np.int64((m * 2.0 - 1.0) * 8388608.0)
        else:
            bits = s | np.int64(math.ldexp(a, 149))
    put_u32(w, o, bits)
