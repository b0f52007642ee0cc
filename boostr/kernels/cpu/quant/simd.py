"""Register vectors for the numba quant kernels: LLVM ``<N x i32>`` / ``<N x float>`` as a numba type.

numba 0.68 leaves SLP vectorization off (``NUMBA_SLP_VECTORIZE=0``) and LLVM fully unrolls a
block's 16- or 32-lane loops before its loop vectorizer runs, so plain per-block decoders stay
scalar (one ``cvtsi2ss`` per weight). These intrinsics give kernels explicit vector values,
lowered to generic LLVM vector IR (LLVM picks AVX-512, AVX2, SSE or NEON; only ``vlut16`` uses x86
permutes, where numba's target has them):

- ``vload_u8(a, off, N)`` / ``vload_i8(a, off, N)``: N bytes of ``a[off:]`` zero/sign-extended to i32;
- ``vload_f32(a, off, N)``, ``vstore(a, off, v)``: unaligned f32 loads and stores;
- ``vsplat_f(x, N)``, ``vsplat_i(x, N)``, ``viota(N)`` (0..N-1);
- operators ``+ - * & | >> <<`` between vectors or a vector and a scalar (``>>`` is logical);
- ``vtof`` (i32 -> f32), ``vfma`` (``llvm.fmuladd``), ``vneg``, ``vsel(mask, a, b)`` (``mask != 0``),
  ``vgather(table_f32, idx)``, ``vlut16(table16, idx)`` (16-entry table lookup), ``vconcat(a, b)``,
  ``vlane(v, i)``, ``vhsum`` (pairwise tree);
- scalar loads ``ldb`` / ``ldsb`` / ``ldh`` / ``ldw`` (u8, i8, u16, u32 at a byte offset, as int64) and
  ``ldf`` (f32 element): one load each, without numba's negative-index wraparound code.

N must be a literal. Offsets are not bounds-checked: callers stay inside their blocks. Every
arithmetic op is one IEEE f32 op per lane (no contraction unless ``vfma``), so decoders written
with them round exactly like gguf-py's numpy.
"""

from __future__ import annotations

import operator
from typing import Any

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.imputils import lower_builtin
from numba.core.typing.templates import AbstractTemplate, infer_global, signature
from numba.extending import intrinsic, models, register_model

I32 = types.int32
F32 = types.float32
_LI32 = ir.IntType(32)


class Vec(types.Type):
    """An N-lane vector of int32 or float32 held in registers."""

    def __init__(self, dtype: types.Type, n: int) -> None:
        self.dtype = dtype
        self.n = n
        super().__init__(name=f"Vec[{dtype}x{n}]")


@register_model(Vec)
class _VecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):  # type: ignore[no-untyped-def]
        super().__init__(dmm, fe_type, ir.VectorType(dmm.lookup(fe_type.dtype).get_value_type(), fe_type.n))


def typed_intrinsic(typer: Any = None, **options: Any) -> Any:
    """``numba.extending.intrinsic``, typed ``Any`` for mypy (call sites omit ``typingctx``)."""
    if typer is None:
        return lambda f: intrinsic(**options)(f)
    return intrinsic(typer)


def _lit(t):  # type: ignore[no-untyped-def]
    return t.literal_value if isinstance(t, types.IntegerLiteral) else None


def _ptr(context, builder, aty, arr, off, vty):  # type: ignore[no-untyped-def]
    data = context.make_array(aty)(context, builder, arr).data
    return builder.bitcast(builder.gep(data, [off]), vty.as_pointer())


def _splat(builder, val, vty):  # type: ignore[no-untyped-def]
    undef = ir.Constant(vty, ir.Undefined)
    v = builder.insert_element(undef, val, ir.Constant(_LI32, 0))
    return builder.shuffle_vector(v, undef, ir.Constant(ir.VectorType(_LI32, vty.count), [0] * vty.count))


def _byte_load(signed: bool):  # type: ignore[no-untyped-def]
    def typer(typingctx, arr, off, n):  # type: ignore[no-untyped-def]
        nn = _lit(n)
        if nn is None or not isinstance(arr, types.Array):
            return None

        def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
            p = _ptr(context, builder, sig.args[0], args[0], args[1], ir.VectorType(ir.IntType(8), nn))
            v = builder.load(p, align=1)
            return (builder.sext if signed else builder.zext)(v, ir.VectorType(_LI32, nn))

        return Vec(I32, nn)(arr, types.intp, n), codegen

    return typed_intrinsic(prefer_literal=True)(typer)


vload_u8 = _byte_load(False)
vload_i8 = _byte_load(True)


@typed_intrinsic(prefer_literal=True)
def vload_f32(typingctx, arr, off, n):  # type: ignore[no-untyped-def]
    nn = _lit(n)
    if nn is None or not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        vty = ir.VectorType(ir.FloatType(), nn)
        return builder.load(_ptr(context, builder, sig.args[0], args[0], args[1], vty), align=4)

    return Vec(F32, nn)(arr, types.intp, n), codegen


@typed_intrinsic
def vstore(typingctx, arr, off, v):  # type: ignore[no-untyped-def]
    if not isinstance(v, Vec) or not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        builder.store(args[2], _ptr(context, builder, sig.args[0], args[0], args[1], args[2].type), align=4)
        return context.get_dummy_value()

    return types.none(arr, types.intp, v), codegen


def _splat_of(dtype: types.Type):  # type: ignore[no-untyped-def]
    def typer(typingctx, x, n):  # type: ignore[no-untyped-def]
        nn = _lit(n)
        if nn is None or not isinstance(x, types.Number):
            return None

        def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
            s = context.cast(builder, args[0], sig.args[0], dtype)
            return _splat(builder, s, ir.VectorType(context.get_value_type(dtype), nn))

        return Vec(dtype, nn)(x, n), codegen

    return typed_intrinsic(prefer_literal=True)(typer)


vsplat_f = _splat_of(F32)
vsplat_i = _splat_of(I32)


@typed_intrinsic(prefer_literal=True)
def viota(typingctx, n):  # type: ignore[no-untyped-def]
    nn = _lit(n)
    if nn is None:
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return ir.Constant(ir.VectorType(_LI32, nn), list(range(nn)))

    return Vec(I32, nn)(n), codegen


@typed_intrinsic
def vtof(typingctx, v):  # type: ignore[no-untyped-def]
    if not (isinstance(v, Vec) and v.dtype == I32):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.sitofp(args[0], ir.VectorType(ir.FloatType(), sig.args[0].n))

    return Vec(F32, v.n)(v), codegen


@typed_intrinsic
def vneg(typingctx, v):  # type: ignore[no-untyped-def]
    if not (isinstance(v, Vec) and v.dtype == F32):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.fneg(args[0])

    return v(v), codegen


@typed_intrinsic
def vsel(typingctx, mask, a, b):  # type: ignore[no-untyped-def]
    """``a`` where ``mask != 0`` else ``b`` (lane by lane)."""
    if not (isinstance(mask, Vec) and mask.dtype == I32 and isinstance(a, Vec) and a == b and a.n == mask.n):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        m = builder.icmp_unsigned("!=", args[0], ir.Constant(args[0].type, None))
        return builder.select(m, args[1], args[2])

    return a(mask, a, b), codegen


@typed_intrinsic
def vgather(typingctx, table, idx):  # type: ignore[no-untyped-def]
    """``table[idx[i]]`` for each lane (f32 table, i32 indices inside it)."""
    if not (isinstance(idx, Vec) and idx.dtype == I32 and isinstance(table, types.Array) and table.dtype == F32):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        n = sig.args[1].n
        fty = ir.FloatType()
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        base = builder.ptrtoint(data, ir.IntType(64))
        i64v = ir.VectorType(ir.IntType(64), n)
        off = builder.mul(builder.sext(args[1], i64v), ir.Constant(i64v, [4] * n))
        addr = builder.add(_splat(builder, base, i64v), off)
        pty = ir.VectorType(fty.as_pointer(), n)
        ptrs = builder.inttoptr(addr, pty)
        vty = ir.VectorType(fty, n)
        fnty = ir.FunctionType(vty, [pty, _LI32, ir.VectorType(ir.IntType(1), n), vty])
        fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.masked.gather.v{n}f32.v{n}p0")
        ones = ir.Constant(ir.VectorType(ir.IntType(1), n), [1] * n)
        return builder.call(fn, [ptrs, ir.Constant(_LI32, 4), ones, ir.Constant(vty, ir.Undefined)])

    return Vec(F32, idx.n)(table, idx), codegen


@typed_intrinsic
def vlane(typingctx, v, i):  # type: ignore[no-untyped-def]
    """Lane ``i`` of ``v`` as a scalar (a constant ``i`` after inlining becomes a register move)."""
    if not isinstance(v, Vec) or not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.extract_element(args[0], builder.trunc(args[1], _LI32) if args[1].type.width > 32 else args[1])

    return v.dtype(v, i), codegen


def _has_feature(context, name: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether numba's target machine (the host unless NUMBA_CPU_FEATURES says otherwise) has ``+name``."""
    feats = getattr(context.codegen(), "_tm_features", "") or ""
    return f"+{name}" in feats.split(",")


def fast_lut16() -> bool:
    """Whether ``vlut16`` is one or two permutes on numba's target (AVX-512 / AVX2), not 16 extracts."""
    from numba.core.registry import cpu_target

    try:
        return any(_has_feature(cpu_target.target_context, f) for f in ("avx512f", "avx2"))
    except Exception:
        return False


@typed_intrinsic
def vlut16(typingctx, table, idx):  # type: ignore[no-untyped-def]
    """``table[idx[i]]`` for a 16-entry f32 table (``table[0:16]``) and 16 indices in 0..15.

    One ``vpermps`` on AVX-512, two plus a blend on AVX2 (x86 intrinsics chosen from numba's
    target features, which also key its cache); a generic gather elsewhere.
    """
    if not (isinstance(idx, Vec) and idx.dtype == I32 and idx.n == 16 and isinstance(table, types.Array)):
        return None
    if table.dtype != F32:
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        f16v = ir.VectorType(ir.FloatType(), 16)
        tab = builder.load(_ptr(context, builder, sig.args[0], args[0], ir.Constant(ir.IntType(64), 0), f16v), align=4)
        ix = args[1]
        if _has_feature(context, "avx512f"):
            fnty = ir.FunctionType(f16v, [f16v, ir.VectorType(_LI32, 16)])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.avx512.permvar.sf.512")
            return builder.call(fn, [tab, ix])
        if _has_feature(context, "avx2"):
            f8v, i8v = ir.VectorType(ir.FloatType(), 8), ir.VectorType(_LI32, 8)
            fnty = ir.FunctionType(f8v, [f8v, i8v])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.avx2.permps")

            def half(v, lo, ty):  # type: ignore[no-untyped-def]
                return builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_LI32, 8), list(range(lo, lo + 8))))

            t0, t1 = half(tab, 0, f8v), half(tab, 8, f8v)
            parts = []
            for lo in (0, 8):
                i = half(ix, lo, i8v)
                hi = builder.icmp_unsigned("!=", builder.and_(i, ir.Constant(i8v, [8] * 8)), ir.Constant(i8v, None))
                parts.append(builder.select(hi, builder.call(fn, [t1, i]), builder.call(fn, [t0, i])))
            return builder.shuffle_vector(parts[0], parts[1], ir.Constant(ir.VectorType(_LI32, 16), list(range(16))))
        res = ir.Constant(f16v, ir.Undefined)
        for lane in range(16):  # portable: 16 extracts and inserts
            j = builder.extract_element(ix, ir.Constant(_LI32, lane))
            res = builder.insert_element(res, builder.extract_element(tab, j), ir.Constant(_LI32, lane))
        return res

    return Vec(F32, 16)(table, idx), codegen


@typed_intrinsic
def vconcat(typingctx, a, b):  # type: ignore[no-untyped-def]
    if not (isinstance(a, Vec) and a == b):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        n = 2 * sig.args[0].n
        return builder.shuffle_vector(args[0], args[1], ir.Constant(ir.VectorType(_LI32, n), list(range(n))))

    return Vec(a.dtype, 2 * a.n)(a, b), codegen


@typed_intrinsic
def vfma(typingctx, a, b, c):  # type: ignore[no-untyped-def]
    """``a * b + c``, fused where the target has FMA (``llvm.fmuladd``)."""
    if not (isinstance(a, Vec) and a.dtype == F32 and a == b == c):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        vty = args[0].type
        fnty = ir.FunctionType(vty, [vty] * 3)
        fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.fmuladd.v{vty.count}f32")
        return builder.call(fn, args)

    return a(a, b, c), codegen


@typed_intrinsic
def vhsum(typingctx, v):  # type: ignore[no-untyped-def]
    """Sum of the lanes of an f32 vector (pairwise halving)."""
    if not (isinstance(v, Vec) and v.dtype == F32):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        x, n = args[0], sig.args[0].n
        while n > 1:
            h = n // 2
            lo = builder.shuffle_vector(x, x, ir.Constant(ir.VectorType(_LI32, h), list(range(h))))
            hi = builder.shuffle_vector(x, x, ir.Constant(ir.VectorType(_LI32, h), list(range(h, n))))
            x, n = builder.fadd(lo, hi), h
        return builder.extract_element(x, ir.Constant(_LI32, 0))

    return F32(v), codegen


def _scalar_load(bits: int, signed: bool, flt: bool = False):  # type: ignore[no-untyped-def]
    def typer(typingctx, arr, off):  # type: ignore[no-untyped-def]
        if not isinstance(arr, types.Array):
            return None
        res = F32 if flt else types.int64

        def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
            lty = ir.FloatType() if flt else ir.IntType(bits)
            v = builder.load(_ptr(context, builder, sig.args[0], args[0], args[1], lty), align=4 if flt else 1)
            if flt:
                return v
            return (builder.sext if signed else builder.zext)(v, ir.IntType(64))

        return res(arr, types.intp), codegen

    return typed_intrinsic(typer)


ldb = _scalar_load(8, False)
"""``ldb(a, off)``: the u8 at byte ``off`` of a u8 array as int64 (no wraparound or bounds code)."""
ldsb = _scalar_load(8, True)
"""``ldsb(a, off)``: the i8 at byte ``off`` as int64."""
ldh = _scalar_load(16, False)
"""``ldh(a, off)``: the little-endian u16 at byte ``off`` of a u8 array (one unaligned load)."""
ldw = _scalar_load(32, False)
"""``ldw(a, off)``: the little-endian u32 at byte ``off`` of a u8 array."""
ldf = _scalar_load(32, False, flt=True)
"""``ldf(a, i)``: element ``i`` of an f32 array (table lookups without wraparound code)."""


_INT_OPS = {"add": "add", "sub": "sub", "mul": "mul", "and": "and_", "or": "or_", "shr": "lshr", "shl": "shl"}
_FLT_OPS = {"add": "fadd", "sub": "fsub", "mul": "fmul"}


def _binop_template(kind: str) -> type:
    class _Template(AbstractTemplate):
        def generic(self, args, kws):  # type: ignore[no-untyped-def]
            if kws or len(args) != 2:
                return None
            a, b = args
            vt = a if isinstance(a, Vec) else b
            other = b if vt is a else a
            if not isinstance(vt, Vec) or not (other == vt or isinstance(other, types.Number)):
                return None
            if kind not in (_FLT_OPS if vt.dtype == F32 else _INT_OPS):
                return None
            return signature(vt, a, b)

    return _Template


def _binop_lower(kind: str):  # type: ignore[no-untyped-def]
    def impl(context, builder, sig, args):  # type: ignore[no-untyped-def]
        vt = sig.return_type
        vals = []
        for t, v in zip(sig.args, args, strict=True):
            if not isinstance(t, Vec):
                s = context.cast(builder, v, t, vt.dtype)
                v = _splat(builder, s, ir.VectorType(context.get_value_type(vt.dtype), vt.n))
            vals.append(v)
        return getattr(builder, (_FLT_OPS if vt.dtype == F32 else _INT_OPS)[kind])(*vals)

    return impl


# Operators are typed and lowered like numba's builtins (a template + a lowering), not through
# @overload, which compiles a separate function per signature (~30 of them per K-quant kernel).
for _pyop, _kind in (
    (operator.add, "add"), (operator.sub, "sub"), (operator.mul, "mul"), (operator.and_, "and"),
    (operator.or_, "or"), (operator.rshift, "shr"), (operator.lshift, "shl"),
):  # fmt: skip
    infer_global(_pyop)(_binop_template(_kind))
    _low = _binop_lower(_kind)
    for _sig in ((Vec, Vec), (Vec, types.Number), (types.Number, Vec)):
        lower_builtin(_pyop, *_sig)(_low)

__all__ = [
    "Vec", "fast_lut16", "ldb", "ldf", "ldh", "ldsb", "ldw", "vconcat", "vfma", "vgather", "vhsum", "viota",
    "vlane", "vload_f32", "vload_i8", "vload_u8", "vlut16", "vneg", "vsel", "vsplat_f", "vsplat_i", "vstore", "vtof",
]  # fmt: skip
