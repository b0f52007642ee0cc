"""Generic bodies of the per-format kernels: dequantize, fused matmul and fused SwiGLU.

Each format module defines njit decoders and one *primitive* (``PRIM_SIG``) built from a body
here, compiled on first use as a cached cfunc: ``prim(op, x, w, nblk, y, lut, tab, ntab, ks)``
over ``nblk`` consecutive blocks at ``w`` decodes them into f32 ``y`` (op 0), returns their dot
with ``x`` (op 1) or writes their dots with 4 rows of ``x`` to ``y[0:4]`` (op 2); ops 1 and 2
decode the weights in registers straight into FMAs. Decoder shapes:

- ``head(w, o, lut) -> h`` (the block's scales, decoded once per block, vectorized for the
  K-quants) and ``sub(w, o, s, h, tab) -> (v0, v1)``: elements ``[32s, 32s+32)`` of the block at
  byte ``o`` as two f32x16 vectors (the 13 formats with a fused matmul; body ``fused_prim``;
  256-weight blocks unrolled by ``fma8``: constant shifts, shared loads, ~40% faster than a loop);
- ``dec(w, o, y, yo, lut, grid, ks)``: the whole block at byte ``o`` into ``y[yo:]`` (dequantize
  only; body ``blocks_prim``).

Decoders are specialized per format at compile time (no per-block switch), written with the
register vectors of ``simd.py``. They are plain ``njit`` functions that LLVM inlines: numba's
IR-level inlining of the 8 unrolled call sites compiled ~2x slower for the same machine code.
One parallel kernel, ``run``, compiled once for all formats, drives any primitive through its
address: ``mode`` 0 dequantizes ``n`` blocks (tasks of blocks); 1 computes ``out [M, N] = x [M, K]
@ W^T``; 2 computes ``silu(x @ Wg^T) * (x @ Wu^T)`` (``w``, ``w2``), prange over tasks of output
rows. M = 1 runs op 1 per weight row (two 16-lane accumulators); 2 <= M <= ``reg_rows`` runs op 2
per group of 4 rows (8 accumulators, one decode per group); larger M decodes each weight row once
into a K-float buffer (L1) and dots it with every activation row, four rows per pass (``dots``).
Accumulation is f32 with f32 activations (no activation quantization): the f32 dot product of the
bit-exact weights, numerically a float matmul.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types

from .simd import typed_intrinsic, vfma, vhsum, vload_f32, vsplat_f, vstore

F1 = np.float32(1.0)
F0 = np.float32(0.0)
F32P = types.CPointer(types.float32)
U8P = types.CPointer(types.uint8)
_I = types.int64
LUT_SIZE = 65536 + 256
"""Entries of the ``lut`` the kernels take: f16 -> f32 for every half, then E8M0 -> f32 (MXFP4)."""
PRIM_SIG = types.float32(_I, F32P, U8P, _I, F32P, F32P, F32P, _I, U8P)
"""``(op, x, w, nblk, y, lut, tab, ntab, ks) -> f32`` of a per-format primitive."""


@nb.njit  # not inline="always": LLVM inlines it and the decoders (see the module docstring)
def _fma_sub(sub, w, o, s, h, tab, x, xo, a0, a1):  # type: ignore[no-untyped-def]
    v0, v1 = sub(w, o, s, h, tab)
    return vfma(v0, vload_f32(x, xo + 32 * s, 16), a0), vfma(v1, vload_f32(x, xo + 32 * s + 16, 16), a1)


@nb.njit
def _fma_sub4(sub, w, o, s, h, tab, x, xo, k, acc):  # type: ignore[no-untyped-def]
    """``_fma_sub`` for 4 activation rows (``x[xo:]``, ``x[xo+K:]``, ...) sharing one decode."""
    v0, v1 = sub(w, o, s, h, tab)
    a = xo + 32 * s
    return (
        vfma(v0, vload_f32(x, a, 16), acc[0]), vfma(v1, vload_f32(x, a + 16, 16), acc[1]),
        vfma(v0, vload_f32(x, a + k, 16), acc[2]), vfma(v1, vload_f32(x, a + k + 16, 16), acc[3]),
        vfma(v0, vload_f32(x, a + 2 * k, 16), acc[4]), vfma(v1, vload_f32(x, a + 2 * k + 16, 16), acc[5]),
        vfma(v0, vload_f32(x, a + 3 * k, 16), acc[6]), vfma(v1, vload_f32(x, a + 3 * k + 16, 16), acc[7]),
    )  # fmt: skip


@nb.njit
def _store_sub(sub, w, o, s, h, tab, y, yo):  # type: ignore[no-untyped-def]
    v0, v1 = sub(w, o, s, h, tab)
    vstore(y, yo + 32 * s, v0)
    vstore(y, yo + 32 * s + 16, v1)


@nb.njit(inline="always")
def fma1(head, sub, w, o, lut, tab, x, xo, a0, a1):  # type: ignore[no-untyped-def]
    """Accumulate ``W-block . x[xo:]`` lane-wise into (a0, a1): blocks of one 32-weight sub-block."""
    return _fma_sub(sub, w, o, o - o, head(w, o, lut), tab, x, xo, a0, a1)


@nb.njit(inline="always")
def fma8(head, sub, w, o, lut, tab, x, xo, a0, a1):  # type: ignore[no-untyped-def]
    """As ``fma1`` for 256-weight blocks, the 8 sub-blocks unrolled (constant shifts and scale
    offsets, loads shared between sub-blocks; a loop here runs ~40% slower). ``z`` is 0 that
    numba cannot type as a literal: literal sub-block numbers would compile ``sub`` 8 times;
    LLVM folds it and propagates the constants after inlining."""
    h = head(w, o, lut)
    z = o - o
    a0, a1 = _fma_sub(sub, w, o, z, h, tab, x, xo, a0, a1)
    a0, a1 = _fma_sub(sub, w, o, z + 1, h, tab, x, xo, a0, a1)
    a0, a1 = _fma_sub(sub, w, o, z + 2, h, tab, x, xo, a0, a1)
    a0, a1 = _fma_sub(sub, w, o, z + 3, h, tab, x, xo, a0, a1)
    a0, a1 = _fma_sub(sub, w, o, z + 4, h, tab, x, xo, a0, a1)
    a0, a1 = _fma_sub(sub, w, o, z + 5, h, tab, x, xo, a0, a1)
    a0, a1 = _fma_sub(sub, w, o, z + 6, h, tab, x, xo, a0, a1)
    return _fma_sub(sub, w, o, z + 7, h, tab, x, xo, a0, a1)


@nb.njit(inline="always")
def fma1x4(head, sub, w, o, lut, tab, x, xo, k, acc):  # type: ignore[no-untyped-def]
    """``fma1`` for 4 activation rows: 8 accumulators in ``acc``."""
    return _fma_sub4(sub, w, o, o - o, head(w, o, lut), tab, x, xo, k, acc)


@nb.njit(inline="always")
def fma8x4(head, sub, w, o, lut, tab, x, xo, k, acc):  # type: ignore[no-untyped-def]
    """``fma8`` for 4 activation rows (unrolled likewise)."""
    h = head(w, o, lut)
    z = o - o
    acc = _fma_sub4(sub, w, o, z, h, tab, x, xo, k, acc)
    acc = _fma_sub4(sub, w, o, z + 1, h, tab, x, xo, k, acc)
    acc = _fma_sub4(sub, w, o, z + 2, h, tab, x, xo, k, acc)
    acc = _fma_sub4(sub, w, o, z + 3, h, tab, x, xo, k, acc)
    acc = _fma_sub4(sub, w, o, z + 4, h, tab, x, xo, k, acc)
    acc = _fma_sub4(sub, w, o, z + 5, h, tab, x, xo, k, acc)
    acc = _fma_sub4(sub, w, o, z + 6, h, tab, x, xo, k, acc)
    return _fma_sub4(sub, w, o, z + 7, h, tab, x, xo, k, acc)


@nb.njit(inline="always")
def store1(head, sub, w, o, lut, tab, y, yo):  # type: ignore[no-untyped-def]
    """Decode the block at byte ``o`` into ``y[yo:]`` (one sub-block)."""
    _store_sub(sub, w, o, o - o, head(w, o, lut), tab, y, yo)


@nb.njit(inline="always")
def store8(head, sub, w, o, lut, tab, y, yo):  # type: ignore[no-untyped-def]
    """As ``store1`` for 256-weight blocks (a loop: dequantizing is bound by the f32 stores)."""
    h = head(w, o, lut)
    for s in range(8):
        _store_sub(sub, w, o, s, h, tab, y, yo)


@nb.njit(cache=True)
def dots(buf, x, k, m_rows, res, ro):  # type: ignore[no-untyped-def]
    """``res[ro + m] = buf . x[m*K:(m+1)*K]`` for every row m, four rows per pass over ``buf``."""
    m = 0
    while m + 4 <= m_rows:
        o0, o1, o2, o3 = m * k, m * k + k, m * k + 2 * k, m * k + 3 * k
        a0 = vsplat_f(0.0, 16)
        a1 = vsplat_f(0.0, 16)
        a2 = vsplat_f(0.0, 16)
        a3 = vsplat_f(0.0, 16)
        for j in range(0, k, 16):
            v = vload_f32(buf, j, 16)
            a0 = vfma(v, vload_f32(x, o0 + j, 16), a0)
            a1 = vfma(v, vload_f32(x, o1 + j, 16), a1)
            a2 = vfma(v, vload_f32(x, o2 + j, 16), a2)
            a3 = vfma(v, vload_f32(x, o3 + j, 16), a3)
        res[ro + m] = vhsum(a0)
        res[ro + m + 1] = vhsum(a1)
        res[ro + m + 2] = vhsum(a2)
        res[ro + m + 3] = vhsum(a3)
        m += 4
    while m < m_rows:
        a0 = vsplat_f(0.0, 16)
        a1 = vsplat_f(0.0, 16)
        for j in range(0, k, 32):
            a0 = vfma(vload_f32(buf, j, 16), vload_f32(x, m * k + j, 16), a0)
            a1 = vfma(vload_f32(buf, j + 16, 16), vload_f32(x, m * k + j + 16, 16), a1)
        res[ro + m] = vhsum(a0 + a1)
        m += 1


@nb.njit(inline="always")
def silu_mul(g, u):  # type: ignore[no-untyped-def]
    return g / (F1 + np.exp(-g)) * u


@nb.njit(inline="always")
def fused_prim(head, sub, fma, fma4, store, bb, be, op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    """A fused format's primitive over ``nblk`` blocks at ``w``: op 0 decodes them into ``y``; op 1
    returns their dot with ``x``; op 2 writes their dots with the 4 rows ``x[i*K:(i+1)*K]`` to ``y[0:4]``."""
    w = nb.carray(wp, (nblk * bb,))
    lut = nb.carray(lp, (LUT_SIZE,))
    tab = nb.carray(tp, (nt,))
    if op == 0:
        y = nb.carray(yp, (nblk * be,))
        for b in range(nblk):
            store(head, sub, w, b * bb, lut, tab, y, b * be)
        return F0
    if op == 1:
        x = nb.carray(xp, (nblk * be,))
        a0 = vsplat_f(0.0, 16)
        a1 = vsplat_f(0.0, 16)
        for b in range(nblk):
            a0, a1 = fma(head, sub, w, b * bb, lut, tab, x, b * be, a0, a1)
        return vhsum(a0 + a1)
    k = nblk * be
    x = nb.carray(xp, (4 * k,))
    z = vsplat_f(0.0, 16)
    acc = (z, z, z, z, z, z, z, z)
    for b in range(nblk):
        acc = fma4(head, sub, w, b * bb, lut, tab, x, b * be, k, acc)
    y = nb.carray(yp, (4,))
    y[0] = vhsum(acc[0] + acc[1])
    y[1] = vhsum(acc[2] + acc[3])
    y[2] = vhsum(acc[4] + acc[5])
    y[3] = vhsum(acc[6] + acc[7])
    return F0


@nb.njit(inline="always")
def blocks_prim(dec, bb, be, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    """A dequantize-only format's primitive (op 0 only): decode ``nblk`` blocks with ``dec``."""
    w = nb.carray(wp, (nblk * bb,))
    y = nb.carray(yp, (nblk * be,))
    lut = nb.carray(lp, (LUT_SIZE,))
    grid = nb.carray(tp, (nt,))
    ks = nb.carray(kp, (128,))
    for b in range(nblk):
        dec(w, b * bb, y, b * be, lut, grid, ks)
    return F0


@typed_intrinsic
def _data(typingctx, arr):  # type: ignore[no-untyped-def]
    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return context.make_array(sig.args[0])(context, builder, args[0]).data

    return types.CPointer(arr.dtype)(arr), codegen


@typed_intrinsic
def _at(typingctx, ptr, off):  # type: ignore[no-untyped-def]
    """``ptr + off`` elements."""
    if not isinstance(ptr, types.CPointer):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.gep(args[0], [args[1]])

    return ptr(ptr, types.intp), codegen


@typed_intrinsic
def _prim(typingctx, addr, op, xp, wp, nblk, yp, lp, tp, nt, kp):  # type: ignore[no-untyped-def]
    """Call the primitive (a cfunc of ``PRIM_SIG``) at address ``addr``."""
    args = (op, xp, wp, nblk, yp, lp, tp, nt, kp)
    if args != tuple(PRIM_SIG.args):
        return None

    def codegen(context, builder, sig, llargs):  # type: ignore[no-untyped-def]
        fnty = ir.FunctionType(ir.FloatType(), [context.get_value_type(t) for t in PRIM_SIG.args])
        return builder.call(builder.inttoptr(llargs[0], fnty.as_pointer()), llargs[1:])

    return types.float32(addr, *args), codegen


@typed_intrinsic
def _addr(typingctx, arr):  # type: ignore[no-untyped-def]
    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        return builder.ptrtoint(data, context.get_value_type(types.intp))

    return types.intp(arr), codegen


@nb.njit(inline="always")
def _aligned_empty(n):  # type: ignore[no-untyped-def]
    """``np.empty(n, f32)`` starting on a 64-byte boundary (whole-line vector loads and stores)."""
    raw = np.empty(n + 16, np.float32)
    off = ((-_addr(raw)) % 64) // 4
    return raw[off : off + n]


@nb.njit(cache=True, parallel=True)
def run(prim, mode, x, m_rows, groups, w, w2, n, nbpr, bb, be, out, lut, tab, ks, per):  # type: ignore[no-untyped-def]
    """prange over tasks of ``per`` blocks (mode 0) or output rows (modes 1, 2); see the module docstring.

    ``prim`` is the address of the format's primitive, so this one parallel kernel serves every
    format: numba's parallel lowering and the row logic are compiled once, each format compiles
    only its primitive, and the call passes a plain integer (numba types a cfunc object
    argument in ~12 us, an int in well under 1 us). ``out`` is flat f32; ``x`` holds the
    ``m_rows`` activation rows, 64-byte aligned. ``groups`` > 0: ``x`` is ``4 * groups`` rows
    (zero-padded) multiplied in registers four at a time (op 2, one decode per group); else
    ``m_rows > 1`` rows share one decoded row buffer (``dots``).
    """
    rows, k = x.shape
    xp, wp, w2p, op = _data(x), _data(w), _data(w2), _data(out)
    lp, tp, kp, nt = _data(lut), _data(tab), _data(ks), tab.size
    ntask = (n + per - 1) // per
    if mode == 0:
        for c in nb.prange(ntask):
            b0 = c * per
            _prim(prim, 0, xp, _at(wp, b0 * bb), min(per, n - b0), _at(op, b0 * be), lp, tp, nt, kp)
    else:
        rb = nbpr * bb
        xf = x.reshape(-1)
        for c in nb.prange(ntask):
            r0 = c * per
            r1 = min(n, r0 + per)
            if rows == 1:
                for r in range(r0, r1):
                    g = _prim(prim, 1, xp, _at(wp, r * rb), nbpr, op, lp, tp, nt, kp)
                    if mode == 2:
                        g = silu_mul(g, _prim(prim, 1, xp, _at(w2p, r * rb), nbpr, op, lp, tp, nt, kp))
                    out[r] = g
                continue
            res = np.empty(8 * groups if groups else 2 * m_rows, np.float32)
            rp = _data(res)
            buf = _aligned_empty(0 if groups else k)
            for r in range(r0, r1):
                for i in range(2 if mode == 2 else 1):
                    wr = _at(w2p if i else wp, r * rb)
                    if groups:
                        for gi in range(groups):
                            rg = _at(rp, 4 * gi + 4 * groups * i)
                            _prim(prim, 2, _at(xp, 4 * gi * k), wr, nbpr, rg, lp, tp, nt, kp)
                    else:
                        _prim(prim, 0, xp, wr, nbpr, _data(buf), lp, tp, nt, kp)
                        dots(buf, xf, k, m_rows, res, i * m_rows)
                half = 4 * groups if groups else m_rows
                for m in range(m_rows):
                    out[m * n + r] = silu_mul(res[m], res[half + m]) if mode == 2 else res[m]
