"""Vectorizable f32 math for the numba kernels: a bit-cast intrinsic and ``exp_f32``.

LLVM cannot vectorize a loop that calls libm's ``expf`` (numba has no SVML here),
so the fused kernels use ``exp_f32``, a branch-free Cephes-style ``expf`` that
LLVM turns into SIMD code:

    n = floor(x * log2(e) + 1/2);  r = x - n * ln2 (split in hi + lo parts)
    exp(x) = 2^n * (1 + r + r^2 * P(r)),  P a degree-5 minimax polynomial
    2^n is built from bits: (n + 127) << 23 reinterpreted as an f32.

Valid for ``x <= 88``; inputs below ``-87.34`` (including ``-inf``) give exactly
0. Max relative error about 1e-7 (2 ulp) on [-87, 88]; NaN inputs are the
caller's job (softmax checks rows for NaN/inf before using it).
Layout: scalar f32 in, scalar f32 out; inlined into the caller's loop.
Reference: S. L. Moshier, Cephes Math Library, ``expf.c``.

``FASTMATH`` is the LLVM flag set the kernels use: reassociation and contraction
(vectorized reductions, FMA) but no ``nnan``/``ninf``, so NaN and inf still
propagate and ``v != v`` tests keep working.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

_LO = np.float32(-87.33654)
_LOG2E = np.float32(1.44269504088896341)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_P0 = np.float32(1.9875691500e-4)
_P1 = np.float32(1.3981999507e-3)
_P2 = np.float32(8.3334519073e-3)
_P3 = np.float32(4.1665795894e-2)
_P4 = np.float32(1.6666665459e-1)
_P5 = np.float32(5.0000001201e-1)
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)


@intrinsic
def i32_as_f32(typingctx, x):  # type: ignore[no-untyped-def]
    """Reinterpret the bits of an int32 as a float32 (no conversion)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@nb.njit(cache=True, fastmath=FASTMATH, inline="always")
def exp_f32(x):  # type: ignore[no-untyped-def]
    """``exp(x)`` for a float32 ``x <= 88`` (see the module doc)."""
    xc = max(x, _LO)
    n = math.floor(xc * _LOG2E + _HALF)
    r = xc - n * _LN2_HI
    r = r - n * _LN2_LO
    p = _P0 * r + _P1
    p = p * r + _P2
    p = p * r + _P3
    p = p * r + _P4
    p = p * r + _P5
    p = p * r * r + r + _ONE
    y = p * i32_as_f32((np.int32(n) + np.int32(127)) << np.int32(23))
    return y if x >= _LO else _ZERO
