"""KV-cache fp8 e4m3 / int8 / int4 quantization on the CPU (numba), bit-identical to the generic composite.

Formulas (f32, IEEE division, ``rint`` half to even; no fastmath so the rounding matches):
int8 per row ``s = amax / 127`` (1 if 0), ``q = clamp(rint(x / s), -127, 127)``;
int4 per group ``z = min``, ``s = (max - min) / 15`` (1 if 0), ``q = clamp(rint((x - z) / s), 0, 15)``,
packed ``byte[i] = q[2i] | q[2i + 1] << 4``. Dequant: ``q * s`` and ``q * s + z``.
Layout: rows ``x [R, D]`` f32; int8 ``q [R, D]`` i8, ``s [R]``; int4 ``q [R, D/2]`` u8, ``s, z [R, D/g]``.
Reference: KIVI (Liu et al., 2024) for asymmetric per-group KV quantization.
"""

from __future__ import annotations

import ml_dtypes
import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic


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


# ------------------------------------------------------------------ fp8 e4m3 (OCP "fn": no inf, NaN 0x7f/0xff)
# Per row: ``s = amax / 448`` (1 if 0), ``code = e4m3(clamp(x / s, -448, 448))`` rounded to nearest even:
# normals (|y| >= 2^-6) round the f32 mantissa to 3 bits (carry into the exponent is the right result),
# subnormals are ``rint(|y| * 2^9)`` (which reaches the smallest normal's code 8 continuously).
# Decode is a 256-entry table built from ml_dtypes, the same numbers the CPU cast uses.
FP8_E4M3_TABLE = np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e4m3fn).astype(np.float32)


@intrinsic
def _f32_bits(typingctx, x):  # type: ignore[no-untyped-def]
    """The IEEE bits of a float32 as an int32 (no conversion)."""
    sig = types.int32(types.float32)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(32))

    return sig, codegen


@intrinsic
def _bits_f32(typingctx, x):  # type: ignore[no-untyped-def]
    """A float32 from its IEEE bits given as an int32."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@nb.njit(cache=True, inline="always")
def _e4m3_code(y):  # type: ignore[no-untyped-def]
    """The e4m3fn byte of f32 ``y`` (round to nearest even, saturating at +-448, NaN -> 0x7f | sign).

    Branch-free integer arithmetic on the f32 bits, so the calling loop vectorizes.
    """
    b = _f32_bits(y)  # type: ignore[call-arg,var-annotated]
    sign = (b >> np.int32(31)) & np.int32(0x80)
    ab = min(b & np.int32(0x7FFFFFFF), np.int32(0x43E00000))  # |y| clamped to 448.0 (bits order like values)
    sub = np.int32(np.rint(_bits_f32(ab) * np.float32(512.0)))  # type: ignore[call-arg]  # subnormals: 0..8
    r = (ab + np.int32(0x7FFFF) + ((ab >> np.int32(20)) & np.int32(1))) >> np.int32(20)
    code = sub if ab < np.int32(0x3C800000) else r - np.int32((127 - 7) << 3)
    code = np.int32(0x7F) if (b & np.int32(0x7FFFFFFF)) > np.int32(0x7F800000) else code
    return np.uint8(code | sign)


@nb.njit(cache=True, parallel=True)
def quant_fp8(x, q, s):  # type: ignore[no-untyped-def]
    rows, d = x.shape
    for r in nb.prange(rows):
        amax = np.int32(0)  # max of |x| as bits: monotonic for non-negative floats, NaN above inf
        for j in range(d):
            amax = max(amax, _f32_bits(x[r, j]) & np.int32(0x7FFFFFFF))  # type: ignore[call-arg]
        sc = _bits_f32(amax) / np.float32(448.0)  # type: ignore[call-arg]
        if sc == 0.0:
            sc = np.float32(1.0)
        s[r] = sc
        for j in range(d):
            q[r, j] = _e4m3_code(x[r, j] / sc)


@nb.njit(cache=True, parallel=True)
def dequant_fp8(q, s, table, out):  # type: ignore[no-untyped-def]
    rows, d = q.shape
    for r in nb.prange(rows):
        for j in range(d):
            out[r, j] = table[q[r, j]] * s[r]
