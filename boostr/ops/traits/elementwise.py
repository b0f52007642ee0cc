"""Elementwise primitives: unary math, binary arithmetic with broadcasting,
comparisons, logical ops, where, clamp, fused multiply-add and cast.

Layout: inputs of any shapes that broadcast (numpy rules); the output is a new
contiguous tensor of the broadcast shape. Python scalars are accepted wherever
a tensor operand is, and promote by category only (see ``boostr.dtype``).
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...dtype import DType, promote_types, result_type
from ...errors import InvalidArgument
from ...runtime.hooks import ARITH_BINARY_OPS, BINARY_OPS, COMPARE_OPS, FLOAT_UNARY_OPS, LOGICAL_OPS
from ...tensor import Tensor
from ._base import TraitBase
from ._util import broadcast_shapes

Operand = Tensor | bool | int | float
_MAX_PLANS = 4096  # ClientBase._op_plans is cleared when it reaches this many entries


def _scalar_as(value: bool | int | float, dt: DType) -> bool | int | float:
    if dt.kind == "b":
        return bool(value)
    if dt.is_int:
        return int(value)
    return float(value)


def _expanded(t: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``t.expand(*shape)``, skipped when ``t`` already has that shape (the common hot path)."""
    return t if t.shape == shape else t.expand(*shape)


class ElementwiseOps(TraitBase):
    """Unary and binary elementwise ops (see the module doc for broadcasting and promotion)."""

    # ------------------------------------------------------------------ cast
    def cast(self, x: Tensor, dtype: DType | str) -> Tensor:
        """``x`` converted to ``dtype`` (a new tensor; ``x`` itself if already that dtype).

        Float to int truncates toward zero; to bool is ``x != 0``; to half and fp8
        rounds to nearest even, fp8 e4m3 saturating at +-448.
        """
        self._check_tensor("x", x)
        dt = _dt.dtype(dtype)
        if dt is x.dtype:
            return x
        self._check_storage("cast", dt)
        out = self._new(x.shape, dt)
        if out.numel:
            self._k_copy(x, out)
        return out

    # ----------------------------------------------------------------- unary
    def _unary(self, op: str, x: Tensor) -> Tensor:
        self._check_tensor("x", x)
        if op == "logical_not":
            xb = self.cast(x, _dt.bool_)
            out = self._new(x.shape, _dt.bool_)
            if out.numel:
                self._k_unary(op, xb, out)
            return out
        dt = x.dtype
        if op in FLOAT_UNARY_OPS and not dt.is_float:
            if op in ("floor", "ceil", "round"):
                return x
            x = self.cast(x, _dt.f32)
            dt = _dt.f32
        if dt.kind == "b":
            raise InvalidArgument("x", f"{op} is not defined for bool tensors (cast first)")
        if op == "neg" and dt.kind == "u":
            raise InvalidArgument("x", f"neg is not defined for unsigned {dt} tensors")
        self._check_compute(op, dt)
        out = self._new(x.shape, dt)
        if out.numel:
            self._k_unary(op, x, out)
        return out

    def neg(self, x: Tensor) -> Tensor:
        return self._unary("neg", x)

    def abs(self, x: Tensor) -> Tensor:
        return self._unary("abs", x)

    def sqrt(self, x: Tensor) -> Tensor:
        return self._unary("sqrt", x)

    def rsqrt(self, x: Tensor) -> Tensor:
        return self._unary("rsqrt", x)

    def exp(self, x: Tensor) -> Tensor:
        return self._unary("exp", x)

    def log(self, x: Tensor) -> Tensor:
        return self._unary("log", x)

    def sin(self, x: Tensor) -> Tensor:
        return self._unary("sin", x)

    def cos(self, x: Tensor) -> Tensor:
        return self._unary("cos", x)

    def tanh(self, x: Tensor) -> Tensor:
        return self._unary("tanh", x)

    def erf(self, x: Tensor) -> Tensor:
        return self._unary("erf", x)

    def sigmoid(self, x: Tensor) -> Tensor:
        return self._unary("sigmoid", x)

    def relu(self, x: Tensor) -> Tensor:
        return self._unary("relu", x)

    def silu(self, x: Tensor) -> Tensor:
        return self._unary("silu", x)

    def gelu(self, x: Tensor, approximate: str = "none") -> Tensor:
        """GELU: ``approximate="none"`` uses erf, ``"tanh"`` the tanh approximation."""
        if approximate not in ("none", "tanh"):
            raise InvalidArgument("approximate", f"expected 'none' or 'tanh', received {approximate!r}")
        return self._unary("gelu_erf" if approximate == "none" else "gelu_tanh", x)

    def softplus(self, x: Tensor) -> Tensor:
        return self._unary("softplus", x)

    def floor(self, x: Tensor) -> Tensor:
        return self._unary("floor", x)

    def ceil(self, x: Tensor) -> Tensor:
        return self._unary("ceil", x)

    def round(self, x: Tensor) -> Tensor:
        """Round half to even."""
        return self._unary("round", x)

    def sign(self, x: Tensor) -> Tensor:
        return self._unary("sign", x)

    def reciprocal(self, x: Tensor) -> Tensor:
        return self._unary("reciprocal", x)

    def square(self, x: Tensor) -> Tensor:
        return self._unary("square", x)

    def logical_not(self, x: Tensor) -> Tensor:
        return self._unary("logical_not", x)

    # ---------------------------------------------------------------- binary
    def _operand_dtype(self, a: Operand, b: Operand) -> DType:
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            return promote_types(a.dtype, b.dtype)
        if isinstance(a, Tensor):
            return result_type(a.dtype, b, self.default_int)
        if isinstance(b, Tensor):
            return result_type(b.dtype, a, self.default_int)
        raise InvalidArgument("a", "expected at least one boostr.Tensor operand")

    def binary(self, op: str, a: Operand, b: Operand) -> Tensor:
        """``op(a, b)`` for op in add, sub, mul, div, pow, maximum, minimum, eq, ne,
        lt, le, gt, ge, logical_and, logical_or, logical_xor.

        Arithmetic on two bools runs in the default int dtype; ``div`` on integers
        gives f32 (true division); comparisons and logical ops give bool.
        """
        # hot path: operand kinds seen before on this client skip validation and promotion
        # (the plan, (compute dtype, output dtype), is stored by _binary_checked once it passed)
        if type(a) is Tensor and a.client is self:
            if type(b) is Tensor:
                if b.client is self:
                    plan = self._op_plans.get((op, a.dtype.name, b.dtype.name))
                    if plan is not None:
                        return self._binary_run(op, a, b, plan[0], plan[1])
            elif type(b) is float or type(b) is int or type(b) is bool:
                plan = self._op_plans.get((op, a.dtype.name, type(b)))
                if plan is not None and (op != "pow" or b >= 0):
                    return self._binary_run(op, a, b, plan[0], plan[1])
        elif type(b) is Tensor and b.client is self and (type(a) is float or type(a) is int or type(a) is bool):
            plan = self._op_plans.get((op, type(a), b.dtype.name))
            if plan is not None:
                return self._binary_run(op, a, b, plan[0], plan[1])
        return self._binary_checked(op, a, b)

    def _binary_run(self, op: str, a: Operand, b: Operand, dt: DType, out_dt: DType) -> Tensor:
        """Broadcast, allocate and launch a validated binary op computed in ``dt``."""
        if type(a) is Tensor:
            if type(b) is Tensor:
                shape = a.shape if a.shape == b.shape else broadcast_shapes(a.shape, b.shape, args=("a", "b"))
                out = self._new(shape, out_dt)
                if out.numel:
                    ca = a if a.dtype is dt else self.cast(a, dt)
                    cb = b if b.dtype is dt else self.cast(b, dt)
                    self._k_binary(op, _expanded(ca, shape), _expanded(cb, shape), out)
                return out
            assert not isinstance(b, Tensor)
            out = self._new(a.shape, out_dt)
            if out.numel:
                self._k_binary(op, a if a.dtype is dt else self.cast(a, dt), _scalar_as(b, dt), out)
            return out
        assert isinstance(b, Tensor) and not isinstance(a, Tensor)
        out = self._new(b.shape, out_dt)
        if out.numel:
            self._k_binary(op, b if b.dtype is dt else self.cast(b, dt), _scalar_as(a, dt), out, swap=True)
        return out

    def _binary_checked(self, op: str, a: Operand, b: Operand) -> Tensor:
        """``binary`` with every check; stores the operand kinds' plan for the hot path."""
        if op not in BINARY_OPS:
            raise InvalidArgument("op", f"expected one of {BINARY_OPS}, received {op!r}")
        for name, v in (("a", a), ("b", b)):
            if isinstance(v, Tensor):
                self._check_tensor(name, v)
            elif not isinstance(v, (bool, int, float)):
                raise InvalidArgument(name, f"expected a Tensor or a Python number, received {type(v).__name__}")
        dt = self._operand_dtype(a, b)
        if op in LOGICAL_OPS:
            dt = _dt.bool_
        elif op in ARITH_BINARY_OPS:
            if dt.kind == "b":
                dt = self.default_int
            if op == "div" and not dt.is_float:
                dt = _dt.f32
            if op == "pow" and dt.is_int and isinstance(b, (int, float)) and b < 0:
                raise InvalidArgument("b", f"integer pow needs a non-negative exponent, received {b}")
        self._check_compute(op, dt)
        out_dt = _dt.bool_ if op in COMPARE_OPS or op in LOGICAL_OPS else dt
        ka = a.dtype.name if isinstance(a, Tensor) else type(a)
        kb = b.dtype.name if isinstance(b, Tensor) else type(b)
        if len(self._op_plans) >= _MAX_PLANS:
            self._op_plans.clear()
        self._op_plans[(op, ka, kb)] = (dt, out_dt)
        return self._binary_run(op, a, b, dt, out_dt)

    def add(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("add", a, b)

    def sub(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("sub", a, b)

    def mul(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("mul", a, b)

    def div(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("div", a, b)

    def pow(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("pow", a, b)

    def maximum(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("maximum", a, b)

    def minimum(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("minimum", a, b)

    def eq(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("eq", a, b)

    def ne(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("ne", a, b)

    def lt(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("lt", a, b)

    def le(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("le", a, b)

    def gt(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("gt", a, b)

    def ge(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("ge", a, b)

    def logical_and(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("logical_and", a, b)

    def logical_or(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("logical_or", a, b)

    def logical_xor(self, a: Operand, b: Operand) -> Tensor:
        return self.binary("logical_xor", a, b)

    # ------------------------------------------------------------- ternary
    def where(self, cond: Tensor, a: Operand, b: Operand) -> Tensor:
        """``cond ? a : b`` with broadcasting; a and b promote like a binary op."""
        self._check_tensor("cond", cond)
        for name, v in (("a", a), ("b", b)):
            if isinstance(v, Tensor):
                self._check_tensor(name, v)
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            dt = self._operand_dtype(a, b)
        else:
            dt = _dt.f32 if isinstance(a, float) or isinstance(b, float) else self.default_int
        self._check_storage("where", dt)
        shapes = [cond.shape] + [v.shape for v in (a, b) if isinstance(v, Tensor)]
        shape = broadcast_shapes(*shapes, args=("cond", "a", "b"))
        out = self._new(shape, dt)
        if not out.numel:
            return out
        c = self.cast(cond, _dt.bool_).expand(*shape)
        va = self.cast(a, dt).expand(*shape) if isinstance(a, Tensor) else _scalar_as(a, dt)
        vb = self.cast(b, dt).expand(*shape) if isinstance(b, Tensor) else _scalar_as(b, dt)
        self._k_where(c, va, vb, out)
        return out

    def masked_fill(self, x: Tensor, mask: Tensor, value: bool | int | float) -> Tensor:
        """``x`` with ``value`` where ``mask`` (broadcast to x) is true; keeps x's dtype."""
        self._check_tensor("x", x)
        self._check_tensor("mask", mask)
        if mask.dtype is not _dt.bool_:
            raise InvalidArgument("mask", f"expected a bool tensor, received {mask.dtype}")
        if broadcast_shapes(x.shape, mask.shape, args=("x", "mask")) != x.shape:
            raise InvalidArgument("mask", f"shape {mask.shape} does not broadcast to x's shape {x.shape}")
        out = self._new(x.shape, x.dtype)
        if out.numel:
            self._k_where(mask.expand(*x.shape), _scalar_as(value, x.dtype), x, out)
        return out

    def clamp(self, x: Tensor, min: Operand | None = None, max: Operand | None = None) -> Tensor:
        """``min(max(x, min), max)``; bounds may be scalars, tensors or None."""
        self._check_tensor("x", x)
        if min is None and max is None:
            raise InvalidArgument("min", "clamp needs at least one of min and max")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            for name, bound in (("min", min), ("max", max)):
                if isinstance(bound, Tensor):
                    self._check_tensor(name, bound)
                    broadcast_shapes(x.shape, bound.shape, args=("x", name))
            y = x if min is None else self.maximum(x, min)
            return y if max is None else self.minimum(y, max)
        dt = x.dtype
        for v in (min, max):
            if v is not None:
                dt = promote_types(dt, result_type(x.dtype, v, self.default_int))
        self._check_compute("clamp", dt)
        xc = self.cast(x, dt)
        out = self._new(x.shape, dt)
        if out.numel:
            lo = None if min is None else _scalar_as(min, dt)
            hi = None if max is None else _scalar_as(max, dt)
            self._k_clamp(xc, lo, hi, out)
        return out

    def fma(self, a: Tensor, b: Tensor, c: Tensor) -> Tensor:
        """Fused ``a * b + c`` with broadcasting (one rounding per element)."""
        for name, v in (("a", a), ("b", b), ("c", c)):
            self._check_tensor(name, v)
        dt = promote_types(promote_types(a.dtype, b.dtype), c.dtype)
        if not dt.is_float:
            raise InvalidArgument("a", f"fma expects float tensors, received {a.dtype}, {b.dtype}, {c.dtype}")
        self._check_compute("fma", dt)
        shape = broadcast_shapes(a.shape, b.shape, c.shape, args=("a", "b", "c"))
        out = self._new(shape, dt)
        if out.numel:
            self._k_fma(*(self.cast(v, dt).expand(*shape) for v in (a, b, c)), out)
        return out

    def _as_operand(self, v: Any, arg: str) -> Operand:
        if isinstance(v, (Tensor, bool, int, float)):
            return v
        raise InvalidArgument(arg, f"expected a Tensor or a Python number, received {type(v).__name__}")
