"""Register-blocked f32 GEMM microkernels for the CPU attention kernels (numba intrinsics, LLVM vector IR).

Formula: ``C[r, n] (+)= sum_p A[r, p] * B[p, n]`` for ``r < mr``, ``n < nv * VW``, ``p < k``.
Layout: A is strided (element ``(r, p)`` at ``a_off + r * a_rs + p * a_cs``, so a transposed
operand costs nothing), B rows are contiguous (``b_off + p * ldb + n``), C rows are contiguous
(``c_off + r * ldc + n``); all three are flat f32 arrays (any C-contiguous array: offsets are in
elements of its flat storage). ``accumulate`` False overwrites C, True adds to it.

The kernel keeps ``mr x nv`` accumulator vectors of ``VW`` floats in registers across the whole
``p`` loop (SSA phis, so LLVM never spills them to memory): per step it loads ``nv`` vectors of
B, broadcasts ``mr`` scalars of A and issues ``mr * nv`` FMAs. This is the BLIS/GotoBLAS
outer-product microkernel (Van Zee & van de Geijn, "BLIS", 2015); with AVX-512 (``VW = 16``) an
8x2 or 4x4 block runs at the FMA units' peak (~180 GFLOP/s per core measured on the 2-core
Xeon dev machine, OpenBLAS sgemm 173). Emitting the vectors explicitly sidesteps LLVM's
256-bit preference for auto-vectorized loops on AVX-512 parts and OpenBLAS's threading.
``VW`` follows the host: 16 with AVX-512F, 8 with AVX, else 4 (LLVM splits wider vectors).
``gemm_qk_max`` also folds the written block's column maxima into a vector in its epilogue.

Softmax helpers on the same vectors: ``col_max`` / ``col_exp`` walk one block of ``VW`` columns
of a row-major tile (column max; in-place ``exp(s - m_col)`` with column sums) and ``row_exp``
one row (``exp(s - m)``); exp is Cephes' ``expf`` (``fastmath.exp_f32``), with AVX-512's
``vscalefps`` for the ``2^n`` step; ``col_exp2`` is the base-2 variant the forward uses.
numba's on-disk cache keys a kernel by its own file's contents, not by what it inlines: every
change here bumps ``MK_REVISION``, which ``attention_fwd.py`` and ``attention_bwd.py`` repeat
(and check at import), so their cached kernels are rebuilt with the new intrinsics.
"""

from __future__ import annotations

import llvmlite.binding as llvm
import numba as nb
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _host_vector_width() -> int:
    try:
        feats = llvm.get_host_cpu_features()
    except RuntimeError:  # pragma: no cover - hosts without feature detection
        return 4
    if feats.get("avx512f", False):
        return 16
    return 8 if feats.get("avx", False) else 4


MK_REVISION = 2  # bump on any change to this file, and in attention_fwd.py / attention_bwd.py
VW = _host_vector_width()
MR_QK = 8 if VW == 16 else 4  # rows of the score microkernel (S^T = K Q^T)
NV_QK = 2  # vectors per row of the score microkernel: 2 * VW queries


def _make(mr: int, nv: int, w: int, colmax: bool = False):  # type: ignore[no-untyped-def]
    """An intrinsic ``mk(a, a_off, a_rs, a_cs, b, b_off, ldb, c, c_off, ldc, k, accumulate, cm, cm_off)``.

    With ``colmax`` the epilogue also folds the block's column maxima into ``cm[cm_off:]``
    (``cm[n] = max(cm[n], max_r C[r, n])``, written C values; NaN is skipped); without it
    ``cm``/``cm_off`` are ignored.
    """

    @intrinsic
    def mk(typingctx, a, a_off, a_rs, a_cs, b, b_off, ldb, c, c_off, ldc, k, accumulate, cm, cm_off):  # type: ignore[no-untyped-def]
        sig = types.none(a, a_off, a_rs, a_cs, b, b_off, ldb, c, c_off, ldc, k, accumulate, cm, cm_off)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            ts = signature.args
            i64 = ir.IntType(64)
            vty = ir.VectorType(ir.FloatType(), w)

            def num(i: int):  # type: ignore[no-untyped-def]
                return context.cast(builder, args[i], ts[i], types.intp)

            def ptr(i: int, off: int):  # type: ignore[no-untyped-def]
                return builder.gep(context.make_array(ts[i])(context, builder, args[i]).data, [num(off)])

            def const(x: int):  # type: ignore[no-untyped-def]
                return ir.Constant(i64, x)

            aptr, a_rs_, a_cs_ = ptr(0, 1), num(2), num(3)
            bptr, ldb_ = ptr(4, 5), num(6)
            cptr, ldc_ = ptr(7, 8), num(9)
            kk = num(10)
            acc_flag = context.cast(builder, args[11], ts[11], types.boolean)
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vty, [vty, vty, vty]), f"llvm.fma.v{w}f32"
            )
            zero = ir.Constant(vty, [0.0] * w)
            undef = ir.Constant(vty, ir.Undefined)
            splat0 = ir.Constant(ir.VectorType(ir.IntType(32), w), [0] * w)
            entry = builder.block
            loop = builder.append_basic_block("mk.loop")
            after = builder.append_basic_block("mk.after")
            builder.cbranch(builder.icmp_signed(">", kk, const(0)), loop, after)

            builder.position_at_end(loop)
            p = builder.phi(i64)
            p.add_incoming(const(0), entry)
            accs = [[builder.phi(vty) for _ in range(nv)] for _ in range(mr)]
            brow = builder.gep(bptr, [builder.mul(p, ldb_)])
            bv = [
                builder.load(builder.bitcast(builder.gep(brow, [const(v * w)]), vty.as_pointer()), align=4)
                for v in range(nv)
            ]
            acol = builder.gep(aptr, [builder.mul(p, a_cs_)])
            new = []
            for r in range(mr):
                s = builder.load(builder.gep(acol, [builder.mul(const(r), a_rs_)]))
                sp = builder.shuffle_vector(
                    builder.insert_element(undef, s, ir.Constant(ir.IntType(32), 0)), undef, splat0
                )
                new.append([builder.call(fma, [sp, bv[v], accs[r][v]]) for v in range(nv)])
            pn = builder.add(p, const(1))
            p.add_incoming(pn, loop)
            for r in range(mr):
                for v in range(nv):
                    accs[r][v].add_incoming(zero, entry)
                    accs[r][v].add_incoming(new[r][v], loop)
            builder.cbranch(builder.icmp_signed("<", pn, kk), loop, after)

            builder.position_at_end(after)
            fin = []
            for r in range(mr):
                row = []
                for v in range(nv):
                    f = builder.phi(vty)
                    f.add_incoming(zero, entry)
                    f.add_incoming(new[r][v], loop)
                    row.append(f)
                fin.append(row)
            for r in range(mr):
                crow = builder.gep(cptr, [builder.mul(const(r), ldc_)])
                for v in range(nv):
                    cp = builder.bitcast(builder.gep(crow, [const(v * w)]), vty.as_pointer())
                    old = builder.select(acc_flag, builder.load(cp, align=4), zero)
                    val = builder.fadd(fin[r][v], old)
                    builder.store(val, cp, align=4)
                    fin[r][v] = val
            if colmax:
                mptr = ptr(12, 13)
                for v in range(nv):
                    mp = builder.bitcast(builder.gep(mptr, [const(v * w)]), vty.as_pointer())
                    mx = builder.load(mp, align=4)
                    for r in range(mr):
                        mx = builder.select(builder.fcmp_ordered(">", fin[r][v], mx), fin[r][v], mx)
                    builder.store(mx, mp, align=4)
            return context.get_dummy_value()

        return sig, codegen

    return mk


_QK = [_make(r, NV_QK, VW) for r in range(1, MR_QK + 1)]
_QKM = [_make(r, NV_QK, VW, colmax=True) for r in range(1, MR_QK + 1)]
while len(_QK) < 8:  # never called: the row loops stop at MR_QK
    _QK.append(_QK[-1])
    _QKM.append(_QKM[-1])
qk1, qk2, qk3, qk4, qk5, qk6, qk7, qk8 = _QK
qm1, qm2, qm3, qm4, qm5, qm6, qm7, qm8 = _QKM


@nb.njit(cache=True)
def gemm_qk(a, a_off, a_rs, a_cs, b, b_off, ldb, c, c_off, ldc, m, n, k, accumulate, cm):  # type: ignore[no-untyped-def]
    """``C[m, n] (+)= A[m, k] B[k, n]`` for any m; ``n`` a multiple of ``NV_QK * VW`` (the caller pads B and C).

    ``cm`` is unused (pass any f32 array)."""
    cw = NV_QK * VW
    for j0 in range(0, n, cw):
        r0 = 0
        while r0 < m:
            mr = min(MR_QK, m - r0)
            ao = a_off + r0 * a_rs
            co = c_off + r0 * ldc + j0
            bo = b_off + j0
            if mr == 8:
                qk8(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            elif mr == 7:
                qk7(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            elif mr == 6:
                qk6(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            elif mr == 5:
                qk5(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            elif mr == 4:
                qk4(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            elif mr == 3:
                qk3(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            elif mr == 2:
                qk2(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            else:
                qk1(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            r0 += mr


@nb.njit(cache=True)
def gemm_qk_max(a, a_off, a_rs, a_cs, b, b_off, ldb, c, c_off, ldc, m, n, k, accumulate, cm):  # type: ignore[no-untyped-def]
    """As ``gemm_qk`` and ``cm[n] = max(cm[n], max_r C[r, n])`` over the written C (NaN skipped)."""
    cw = NV_QK * VW
    for j0 in range(0, n, cw):
        r0 = 0
        while r0 < m:
            mr = min(MR_QK, m - r0)
            ao = a_off + r0 * a_rs
            co = c_off + r0 * ldc + j0
            bo = b_off + j0
            if mr == 8:
                qm8(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            elif mr == 7:
                qm7(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            elif mr == 6:
                qm6(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            elif mr == 5:
                qm5(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            elif mr == 4:
                qm4(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            elif mr == 3:
                qm3(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            elif mr == 2:
                qm2(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            else:
                qm1(a, ao, a_rs, a_cs, b, bo, ldb, c, co, ldc, k, accumulate, cm, j0)
            r0 += mr


# ---------------------------------------------------------------- column-block softmax helpers
_EXP_C = (1.4426950408889634, 0.693359375, -2.12194440e-4, -87.0)
_EXP_P = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)


def _vexp(builder, x, w):  # type: ignore[no-untyped-def]
    """``exp(x)`` of a ``<w x float>`` (Cephes expf as in ``fastmath.exp_f32``): below -87 gives 0, NaN stays NaN."""
    vty = x.type
    ity = ir.VectorType(ir.IntType(32), w)

    def cv(val: float):  # type: ignore[no-untyped-def]
        return ir.Constant(vty, [val] * w)

    mod = builder.module
    fma = cgutils.get_or_insert_function(mod, ir.FunctionType(vty, [vty, vty, vty]), f"llvm.fma.v{w}f32")
    floor = cgutils.get_or_insert_function(mod, ir.FunctionType(vty, [vty]), f"llvm.floor.v{w}f32")
    log2e, ln2_hi, ln2_lo, lo = _EXP_C
    small = builder.fcmp_ordered("<", x, cv(lo))
    xc = builder.select(small, cv(lo), x)
    n = builder.call(floor, [builder.call(fma, [xc, cv(log2e), cv(0.5)])])
    r = builder.call(fma, [n, cv(-ln2_hi), xc])
    r = builder.call(fma, [n, cv(-ln2_lo), r])
    p = cv(_EXP_P[0])
    for coef in _EXP_P[1:]:
        p = builder.call(fma, [p, r, cv(coef)])
    y = builder.fadd(builder.call(fma, [p, builder.fmul(r, r), r]), cv(1.0))
    if w == 16:  # AVX-512 vscalefps: y * 2^n in one instruction
        sty = ir.FunctionType(vty, [vty, vty, vty, ir.IntType(16), ir.IntType(32)])
        scalef = cgutils.get_or_insert_function(mod, sty, "llvm.x86.avx512.mask.scalef.ps.512")
        e = builder.call(scalef, [y, n, cv(0.0), ir.Constant(ir.IntType(16), -1), ir.Constant(ir.IntType(32), 4)])
    else:
        bits = builder.add(builder.fptosi(n, ity), ir.Constant(ity, [127] * w))
        e = builder.fmul(y, builder.bitcast(builder.shl(bits, ir.Constant(ity, [23] * w)), vty))
    return builder.select(small, cv(0.0), e)


# Cephes exp2f: 2^f = 1 + f P(f) on [-1/2, 1/2], peak relative error 1.3e-7
_EXP2_P = (1.535336188319500e-4, 1.339887440266574e-3, 9.618437357674640e-3, 5.550332471162809e-2,
           2.402264791363012e-1, 6.931472028550421e-1)  # fmt: skip


def _vexp2(builder, x, w):  # type: ignore[no-untyped-def]
    """``2^x`` of a ``<w x float>`` with ``x <= 0`` (softmax shifts): ``2^n * 2^f``, ``n = rint(x)``.

    Lanes with ``x < -125`` (``-inf`` included) give exactly 0 and never reach the slow underflow
    path: with AVX-512 (``w == 16``) they are masked off ``vscalefps`` (whose passthrough is 0),
    otherwise selected away after building ``2^n`` from bits. NaN lanes stay NaN.
    """
    vty = x.type
    ity = ir.VectorType(ir.IntType(32), w)

    def cv(val: float):  # type: ignore[no-untyped-def]
        return ir.Constant(vty, [val] * w)

    mod = builder.module
    fma = cgutils.get_or_insert_function(mod, ir.FunctionType(vty, [vty, vty, vty]), f"llvm.fma.v{w}f32")
    rint = cgutils.get_or_insert_function(mod, ir.FunctionType(vty, [vty]), f"llvm.rint.v{w}f32")
    keep = builder.fcmp_unordered(">=", x, cv(-125.0))  # NaN lanes are kept (and stay NaN)
    xc = builder.select(keep, x, cv(-125.0))
    n = builder.call(rint, [xc])
    f = builder.fsub(xc, n)
    p = cv(_EXP2_P[0])
    for coef in _EXP2_P[1:]:
        p = builder.call(fma, [p, f, cv(coef)])
    y = builder.call(fma, [p, f, cv(1.0)])
    if w == 16:
        sty = ir.FunctionType(vty, [vty, vty, vty, ir.IntType(16), ir.IntType(32)])
        scalef = cgutils.get_or_insert_function(mod, sty, "llvm.x86.avx512.mask.scalef.ps.512")
        mask = builder.bitcast(keep, ir.IntType(16))
        return builder.call(scalef, [y, n, cv(0.0), mask, ir.Constant(ir.IntType(32), 4)])
    bits = builder.shl(builder.add(builder.fptosi(n, ity), ir.Constant(ity, [127] * w)), ir.Constant(ity, [23] * w))
    return builder.select(keep, builder.fmul(y, builder.bitcast(bits, vty)), cv(0.0))


def _make_colop(kind: str, w: int):  # type: ignore[no-untyped-def]
    """``colop(s, s_off, ld, rows, vec, v_off, out, o_off)`` over one block of ``w`` columns of a row-major tile.

    kind "max": ``out[:w] = max(vec[:w], max_r s[r, :w])`` (NaN scores are skipped by the max).
    kind "exp": ``s[r, :w] = exp(s[r, :w] - vec[:w])`` in place and ``out[:w] += sum_r s[r, :w]``;
    kind "exp2" the same with ``2^(s - vec)`` (for ``s <= vec``: softmax in base 2).
    Row ``r`` of the block starts at ``s_off + r * ld``.
    """

    @intrinsic
    def colop(typingctx, s, s_off, ld, rows, vec, v_off, out, o_off):  # type: ignore[no-untyped-def]
        sig = types.none(s, s_off, ld, rows, vec, v_off, out, o_off)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            ts = signature.args
            i64 = ir.IntType(64)
            vty = ir.VectorType(ir.FloatType(), w)

            def num(i: int):  # type: ignore[no-untyped-def]
                return context.cast(builder, args[i], ts[i], types.intp)

            def vptr(i: int, off: int):  # type: ignore[no-untyped-def]
                base = context.make_array(ts[i])(context, builder, args[i]).data
                return builder.gep(base, [num(off)])

            def vload(p):  # type: ignore[no-untyped-def]
                return builder.load(builder.bitcast(p, vty.as_pointer()), align=4)

            sptr, ld_, nrow = vptr(0, 1), num(2), num(3)
            vp, op = vptr(4, 5), vptr(6, 7)
            vec_v = vload(vp)
            init = vec_v if kind == "max" else ir.Constant(vty, [0.0] * w)
            entry = builder.block
            loop = builder.append_basic_block("colop.loop")
            after = builder.append_basic_block("colop.after")
            builder.cbranch(builder.icmp_signed(">", nrow, ir.Constant(i64, 0)), loop, after)
            builder.position_at_end(loop)
            r = builder.phi(i64)
            acc = builder.phi(vty)
            rp = builder.gep(sptr, [builder.mul(r, ld_)])
            x = vload(rp)
            if kind == "max":
                nxt = builder.select(builder.fcmp_ordered(">", x, acc), x, acc)
            else:
                e = (_vexp2 if kind == "exp2" else _vexp)(builder, builder.fsub(x, vec_v), w)
                builder.store(e, builder.bitcast(rp, vty.as_pointer()), align=4)
                nxt = builder.fadd(acc, e)
            rn = builder.add(r, ir.Constant(i64, 1))
            r.add_incoming(ir.Constant(i64, 0), entry)
            r.add_incoming(rn, loop)
            acc.add_incoming(init, entry)
            acc.add_incoming(nxt, loop)
            builder.cbranch(builder.icmp_signed("<", rn, nrow), loop, after)
            builder.position_at_end(after)
            fin = builder.phi(vty)
            fin.add_incoming(init, entry)
            fin.add_incoming(nxt, loop)
            optr = builder.bitcast(op, vty.as_pointer())
            res = fin if kind == "max" else builder.fadd(builder.load(optr, align=4), fin)
            builder.store(res, optr, align=4)
            return context.get_dummy_value()

        return sig, codegen

    return colop


col_max = _make_colop("max", VW)
col_exp = _make_colop("exp", VW)
col_exp2 = _make_colop("exp2", VW)


def _make_rowexp(w: int):  # type: ignore[no-untyped-def]
    """``rowexp(s, s_off, n, m)``: ``s[s_off + i] = exp(s[s_off + i] - m)``, ``i < n`` (a multiple of ``w``)."""

    @intrinsic
    def rowexp(typingctx, s, s_off, n, m):  # type: ignore[no-untyped-def]
        sig = types.none(s, s_off, n, m)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            ts = signature.args
            i64 = ir.IntType(64)
            vty = ir.VectorType(ir.FloatType(), w)
            base = builder.gep(
                context.make_array(ts[0])(context, builder, args[0]).data,
                [context.cast(builder, args[1], ts[1], types.intp)],
            )
            nn = context.cast(builder, args[2], ts[2], types.intp)
            mval = context.cast(builder, args[3], ts[3], types.float32)
            undef = ir.Constant(vty, ir.Undefined)
            mv = builder.shuffle_vector(
                builder.insert_element(undef, mval, ir.Constant(ir.IntType(32), 0)),
                undef,
                ir.Constant(ir.VectorType(ir.IntType(32), w), [0] * w),
            )
            entry = builder.block
            loop = builder.append_basic_block("rowexp.loop")
            after = builder.append_basic_block("rowexp.after")
            builder.cbranch(builder.icmp_signed(">", nn, ir.Constant(i64, 0)), loop, after)
            builder.position_at_end(loop)
            i = builder.phi(i64)
            i.add_incoming(ir.Constant(i64, 0), entry)
            p = builder.bitcast(builder.gep(base, [i]), vty.as_pointer())
            builder.store(_vexp(builder, builder.fsub(builder.load(p, align=4), mv), w), p, align=4)
            inext = builder.add(i, ir.Constant(i64, w))
            i.add_incoming(inext, loop)
            builder.cbranch(builder.icmp_signed("<", inext, nn), loop, after)
            builder.position_at_end(after)
            return context.get_dummy_value()

        return sig, codegen

    return rowexp


row_exp = _make_rowexp(VW)


@nb.njit(cache=True, parallel=True)
def bmm(a, b, c):  # type: ignore[no-untyped-def]
    """Batched ``c[g] = a[g] @ b[g % len(b)]`` on the microkernels, in numba's threads (no BLAS threading).

    Layout: a ``[G, M, K]``, b ``[Gb, K, N]``, c ``[G, M, N]``, all C-contiguous f32, ``N`` a
    multiple of ``NV_QK * VW`` (pad b's and c's columns) and ``G`` a multiple of ``Gb``.
    Tasks are (batch, 64-row block).
    """
    g_all, m, kk = a.shape
    gb, n = b.shape[0], b.shape[2]
    nrb = (m + 63) // 64
    for t in nb.prange(g_all * nrb):
        g = t // nrb
        r0 = (t % nrb) * 64
        rows = min(64, m - r0)
        gemm_qk(a, (g * m + r0) * kk, kk, 1, b, (g % gb) * kk * n, n, c, (g * m + r0) * n, n, rows, n, kk, False, c)
