"""Elementwise cases: unary math, binary arithmetic with broadcasting and scalars,
comparisons, logical ops, where, masked_fill, clamp, fma and cast."""

from __future__ import annotations

import math

import numpy as np

from ... import dtype as _dt
from .. import refs
from ._core import ALL, FLOATS, INTS, NUMERIC, Case, Fixed, T, expand, register, values

F = "elementwise"
SIGNED_INTS = tuple(d for d in INTS if d.kind == "i")

# op -> (reference, input range)
UNARY_FLOAT = {
    "sqrt": (np.sqrt, (0.05, 4.0)),
    "rsqrt": (refs.rsqrt, (0.05, 4.0)),
    "exp": (np.exp, (-4.0, 4.0)),
    "log": (np.log, (0.05, 4.0)),
    "sin": (np.sin, (-3.0, 3.0)),
    "cos": (np.cos, (-3.0, 3.0)),
    "tanh": (np.tanh, (-3.0, 3.0)),
    "erf": (refs.erf, (-3.0, 3.0)),
    "sigmoid": (refs.sigmoid, (-6.0, 6.0)),
    "silu": (refs.silu, (-6.0, 6.0)),
    "softplus": (refs.softplus, (-6.0, 6.0)),
    "reciprocal": (lambda x: 1.0 / x, (0.25, 4.0)),
    "floor": (np.floor, (-4.0, 4.0)),
    "ceil": (np.ceil, (-4.0, 4.0)),
    "round": (np.round, (-4.0, 4.0)),  # half to even, on the dtype-rounded input
}
UNARY_ANY = {  # defined for signed ints too
    "neg": (np.negative, (-3.0, 3.0)),
    "abs": (np.abs, (-3.0, 3.0)),
    "relu": (refs.relu, (-3.0, 3.0)),
    "sign": (np.sign, (-3.0, 3.0)),
    "square": (np.square, (-3.0, 3.0)),
}


def _unary(op: str, ref, rng_lo: float, rng_hi: float, dtypes, shape=(7, 33), variant="7x33", view=None):  # type: ignore[no-untyped-def]
    return Case(
        F, op, variant, dtypes,
        build=lambda rng, dt: {"x": values(rng, dt, *shape, lo=rng_lo, hi=rng_hi)},
        ref=lambda x: ref(x),
        call=lambda c, x: getattr(c, op)(x),
        view=view,
    )  # fmt: skip


for _op, (_ref, (_lo, _hi)) in UNARY_FLOAT.items():
    register(_unary(_op, _ref, _lo, _hi, FLOATS))
for _op, (_ref, (_lo, _hi)) in UNARY_ANY.items():
    register(_unary(_op, _ref, _lo, _hi, FLOATS + SIGNED_INTS))
for _approx, _ref in (("none", refs.gelu_erf), ("tanh", refs.gelu_tanh)):
    register(
        Case(
            F, "gelu", f"{_approx},7x33", FLOATS,
            build=lambda rng, dt: {"x": values(rng, dt, 7, 33, lo=-5, hi=5)},
            ref=lambda x, _r=_ref: _r(x),
            call=lambda c, x, _a=_approx: c.gelu(x, approximate=_a),
        )
    )  # fmt: skip

# shapes and layouts, on a few ops
register(
    _unary("exp", np.exp, -3, 3, FLOATS, shape=(257,), variant="257"),
    _unary("exp", np.exp, -3, 3, FLOATS, shape=(), variant="0-d"),
    _unary("exp", np.exp, -3, 3, FLOATS, shape=(0, 5), variant="empty"),
    _unary("exp", np.exp, -3, 3, FLOATS, shape=(1,), variant="1"),
    _unary("sigmoid", refs.sigmoid, -3, 3, FLOATS, (33, 7), "transposed", view=lambda d: {"x": T(d["x"])}),
    _unary("tanh", np.tanh, -3, 3, FLOATS, (9, 20), "step-slice", view=lambda d: {"x": d["x"][1::3, ::2]}),
    _unary("abs", np.abs, -3, 3, FLOATS, shape=(1, 7), variant="expanded", view=lambda d: {"x": expand(d["x"], 5, 7)}),
    _unary("silu", refs.silu, -3, 3, FLOATS, (4, 33), "narrowed", view=lambda d: {"x": d["x"][1:3, 5:30]}),
    Case(
        F, "exp", "inf-nan", (_dt.f32, _dt.f16),
        build=lambda rng, dt: {"x": np.array([-np.inf, np.inf, np.nan, 0.0, -1000.0, 100.0])},
        ref=lambda x: np.exp(x),
        call=lambda c, x: c.exp(x),
    ),
    Case(
        F, "sigmoid", "extremes", (_dt.f32, _dt.f64),
        build=lambda rng, dt: {"x": np.array([-np.inf, np.inf, -200.0, 200.0, -40.0, 40.0, 0.0])},
        ref=refs.sigmoid,
        call=lambda c, x: c.sigmoid(x),
    ),
    Case(
        F, "softplus", "extremes", (_dt.f32, _dt.f64),
        build=lambda rng, dt: {"x": np.array([-100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0])},
        ref=refs.softplus,
        call=lambda c, x: c.softplus(x),
    ),
    Case(
        F, "logical_not", "7x33", ALL,
        build=lambda rng, dt: {"x": values(rng, dt, 7, 33, lo=-1, hi=1)},
        ref=lambda x: np.logical_not(x),
        call=lambda c, x: c.logical_not(x),
        out_dtype="bool",
        storage_only=True,
    ),
)  # fmt: skip

# ------------------------------------------------------------------- binary
BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "maximum": np.maximum, "minimum": np.minimum,
}  # fmt: skip
for _op, _ref in BINARY.items():
    register(
        Case(
            F, _op, "broadcast", NUMERIC,
            build=lambda rng, dt: {"a": values(rng, dt, 3, 1, 33, lo=0, hi=10), "b": values(rng, dt, 5, 1, lo=0, hi=9)},
            ref=lambda a, b, _r=_ref: _r(a, b),
            call=lambda c, a, b, _o=_op: getattr(c, _o)(a, b),
        ),
        Case(
            F, _op, "noncontig", FLOATS,
            build=lambda rng, dt: {"a": values(rng, dt, 16, 7), "b": values(rng, dt, 14, 16)},
            ref=lambda a, b, _r=_ref: _r(a, b),
            call=lambda c, a, b, _o=_op: getattr(c, _o)(a, b),
            view=lambda d: {"a": T(d["a"]), "b": d["b"][::2]},
        ),
    )  # fmt: skip
register(
    Case(
        F, "div", "broadcast", FLOATS,
        build=lambda rng, dt: {"a": values(rng, dt, 3, 1, 33), "b": values(rng, dt, 5, 1, lo=0.5, hi=4)},
        ref=lambda a, b: a / b,
        call=lambda c, a, b: c.div(a, b),
    ),
    Case(
        F, "div", "int-true-division", INTS,
        build=lambda rng, dt: {"a": values(rng, dt, 7, 9, lo=0, hi=50), "b": values(rng, dt, 9, lo=1, hi=7)},
        ref=lambda a, b: a / b,
        call=lambda c, a, b: c.div(a, b),
        out_dtype="f32",
    ),
    Case(
        F, "pow", "broadcast", FLOATS,
        build=lambda rng, dt: {"a": values(rng, dt, 4, 33, lo=0.1, hi=2), "b": values(rng, dt, 33, lo=-2, hi=2)},
        ref=lambda a, b: np.power(a, b),
        call=lambda c, a, b: c.pow(a, b),
    ),
    Case(
        F, "pow", "int", INTS,
        build=lambda rng, dt: {"a": values(rng, dt, 4, 7, lo=0, hi=3), "b": values(rng, dt, 7, lo=0, hi=4)},
        ref=lambda a, b: np.power(a, b),
        call=lambda c, a, b: c.pow(a, b),
    ),
    Case(
        F, "add", "scalar-int", NUMERIC,
        build=lambda rng, dt: {"a": values(rng, dt, 7, 33, lo=0, hi=100)},
        ref=lambda a: a + 3,
        call=lambda c, a: c.add(a, 3),
    ),
    Case(
        F, "mul", "scalar-float", FLOATS,
        build=lambda rng, dt: {"a": values(rng, dt, 7, 33)},
        ref=lambda a: a * 0.5,
        call=lambda c, a: c.mul(a, 0.5),
    ),
    Case(
        F, "mul", "int-by-float-scalar", INTS,
        build=lambda rng, dt: {"a": values(rng, dt, 7, 9, lo=0, hi=100)},
        ref=lambda a: a * 0.5,
        call=lambda c, a: c.mul(a, 0.5),
        out_dtype="f32",
    ),
    Case(
        F, "sub", "scalar-swapped", NUMERIC,
        build=lambda rng, dt: {"b": values(rng, dt, 33, lo=0, hi=50)},
        ref=lambda b: 100 - b,
        call=lambda c, b: c.sub(100, b),
    ),
    Case(
        F, "div", "scalar-swapped", FLOATS,
        build=lambda rng, dt: {"b": values(rng, dt, 33, lo=0.5, hi=4)},
        ref=lambda b: 2.0 / b,
        call=lambda c, b: c.div(2.0, b),
    ),
    Case(
        F, "add", "0-d+vector", FLOATS,
        build=lambda rng, dt: {"a": values(rng, dt), "b": values(rng, dt, 7)},
        ref=lambda a, b: a + b,
        call=lambda c, a, b: c.add(a, b),
    ),
    Case(
        F, "add", "empty", NUMERIC,
        build=lambda rng, dt: {"a": values(rng, dt, 0, 3), "b": values(rng, dt, 1, 3)},
        ref=lambda a, b: a + b,
        call=lambda c, a, b: c.add(a, b),
    ),
    Case(
        F, "add", "bool+bool", (_dt.bool_,),
        build=lambda rng, dt: {"a": values(rng, dt, 33), "b": values(rng, dt, 33)},
        ref=lambda a, b: a.astype(np.int64) + b.astype(np.int64),
        call=lambda c, a, b: c.add(a, b),
        out_dtype="index",
    ),
    Case(
        F, "add", "f32+f16-promote", (_dt.f16,),
        build=lambda rng, dt: {"a": values(rng, dt, 7, 5), "b": Fixed(np.linspace(-1, 1, 5, dtype=np.float32))},
        ref=lambda a, b: a + b,
        call=lambda c, a, b: c.add(a, b),
        out_dtype="f32",
    ),
    Case(
        F, "maximum", "nan", (_dt.f32, _dt.f64),
        build=lambda rng, dt: {"a": np.array([np.nan, 1.0, -np.inf, 2.0]), "b": np.array([0.0, np.nan, 1.0, np.inf])},
        ref=lambda a, b: np.maximum(a, b),
        call=lambda c, a, b: c.maximum(a, b),
    ),
)  # fmt: skip

# ---------------------------------------------------------------- compare
for _op, _ref in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                  ("gt", np.greater), ("ge", np.greater_equal)):  # fmt: skip
    register(
        Case(
            F, _op, "broadcast-ties", ALL,
            build=lambda rng, dt: {"a": values(rng, dt, 5, 1, 7, lo=0, hi=3), "b": values(rng, dt, 4, 1, lo=0, hi=3)},
            ref=lambda a, b, _r=_ref: _r(a, b),
            call=lambda c, a, b, _o=_op: getattr(c, _o)(a, b),
            out_dtype="bool",
        ),
        Case(
            F, _op, "scalar", FLOATS + INTS,
            build=lambda rng, dt: {"a": values(rng, dt, 33, lo=0, hi=4)},
            ref=lambda a, _r=_ref: _r(a, 2),
            call=lambda c, a, _o=_op: getattr(c, _o)(a, 2),
            out_dtype="bool",
        ),
    )  # fmt: skip
register(
    Case(
        F, "eq", "nan", (_dt.f32,),
        build=lambda rng, dt: {"a": np.array([np.nan, 1.0, np.inf]), "b": np.array([np.nan, 1.0, np.inf])},
        ref=lambda a, b: a == b,
        call=lambda c, a, b: c.eq(a, b),
        out_dtype="bool",
    )
)  # fmt: skip


def _bits(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return (rng.random(shape) < 0.5).astype(np.float64)


for _op, _ref in (("logical_and", np.logical_and), ("logical_or", np.logical_or), ("logical_xor", np.logical_xor)):
    register(
        Case(
            F, _op, "broadcast", (_dt.bool_, _dt.f32, _dt.i32),
            build=lambda rng, dt: {"a": _bits(rng, 3, 1, 7), "b": _bits(rng, 5, 1)},
            ref=lambda a, b, _r=_ref: _r(a, b),
            call=lambda c, a, b, _o=_op: getattr(c, _o)(a, b),
            out_dtype="bool",
        )
    )  # fmt: skip

# ------------------------------------------------- where, masked_fill, clamp, fma
register(
    Case(
        F, "where", "broadcast", ALL,
        build=lambda rng, dt: {
            "cond": Fixed(rng.random((4, 1, 9)) < 0.5, "bool"), "a": values(rng, dt, 3, 9), "b": values(rng, dt, 9)
        },
        ref=lambda cond, a, b: np.where(cond, a, b),
        call=lambda c, cond, a, b: c.where(cond, a, b),
        storage_only=True,
    ),
    Case(
        F, "where", "scalars", FLOATS + INTS,
        build=lambda rng, dt: {"cond": Fixed(rng.random((7, 5)) < 0.5, "bool"), "a": values(rng, dt, 7, 5, lo=0, hi=9)},
        ref=lambda cond, a: np.where(cond, a, 1),
        call=lambda c, cond, a: c.where(cond, a, 1),
        storage_only=True,
    ),
    Case(
        F, "masked_fill", "rows", ALL,
        build=lambda rng, dt: {"x": values(rng, dt, 6, 33), "mask": Fixed(rng.random((6, 1)) < 0.5, "bool")},
        ref=lambda x, mask: np.where(mask, 1, x),
        call=lambda c, x, mask: c.masked_fill(x, mask, 1),
        storage_only=True,
    ),
    Case(
        F, "masked_fill", "-inf", (_dt.f64, _dt.f32, _dt.f16, _dt.bf16),
        build=lambda rng, dt: {"x": values(rng, dt, 4, 9), "mask": Fixed(np.triu(np.ones((4, 9), bool), 1), "bool")},
        ref=lambda x, mask: np.where(mask, -np.inf, x),
        call=lambda c, x, mask: c.masked_fill(x, mask, -math.inf),
        storage_only=True,
    ),
    Case(
        F, "clamp", "both", NUMERIC,
        build=lambda rng, dt: {"x": values(rng, dt, 7, 33, lo=0, hi=10)},
        ref=lambda x: np.clip(x, 2, 7),
        call=lambda c, x: c.clamp(x, 2, 7),
    ),
    Case(
        F, "clamp", "min-only-float", FLOATS,
        build=lambda rng, dt: {"x": values(rng, dt, 257)},
        ref=lambda x: np.maximum(x, -0.5),
        call=lambda c, x: c.clamp(x, min=-0.5),
    ),
    Case(
        F, "clamp", "tensor-bounds", FLOATS,
        build=lambda rng, dt: {"x": values(rng, dt, 5, 7), "min": values(rng, dt, 7, lo=-2, hi=0),
                               "max": values(rng, dt, 5, 1, lo=0, hi=2)},
        ref=lambda x, min, max: np.minimum(np.maximum(x, min), max),
        call=lambda c, x, min, max: c.clamp(x, min, max),
    ),
    Case(
        F, "fma", "broadcast", FLOATS,
        build=lambda rng, dt: {"a": values(rng, dt, 4, 33), "b": values(rng, dt, 33), "c": values(rng, dt, 4, 1)},
        ref=lambda a, b, c: a * b + c,
        call=lambda cl, a, b, c: cl.fma(a, b, c),
    ),
    Case(
        F, "fma", "transposed", FLOATS,
        build=lambda rng, dt: {"a": values(rng, dt, 9, 7), "b": values(rng, dt, 7, 9), "c": values(rng, dt, 7, 9)},
        ref=lambda a, b, c: a * b + c,
        call=lambda cl, a, b, c: cl.fma(a, b, c),
        view=lambda d: {"a": T(d["a"]), "b": d["b"], "c": d["c"]},
    ),
)  # fmt: skip


# --------------------------------------------------------------------- cast
def _cast_source(rng: np.random.Generator, dt) -> np.ndarray:  # type: ignore[no-untyped-def]
    if dt.kind == "b":
        return np.array([-2.5, -1.0, -0.5, 0.0, 0.25, 1.0, 3.75], np.float32)
    if dt.kind == "u":
        return rng.uniform(0, 200, size=(7, 9)).astype(np.float32)
    if dt.is_int:
        return rng.uniform(-100, 100, size=(7, 9)).astype(np.float32)
    return np.concatenate([rng.uniform(-8, 8, size=60), [1000.0, -1000.0, 0.0, -0.0, 1e-3]]).astype(np.float32)


def _cast_ref(x: np.ndarray, target) -> np.ndarray:  # type: ignore[no-untyped-def]
    if target.kind == "b":
        return x != 0
    if target.is_int:
        return np.trunc(x)
    if target is _dt.fp8_e4m3:
        return np.clip(x, -448.0, 448.0).astype(target.np_dtype)
    return x.astype(target.np_dtype)


register(
    Case(
        F, "cast", "from-f32", ALL,
        build=lambda rng, dt: {"x": Fixed(_cast_source(rng, dt), "f32"), "target": dt},
        ref=lambda x, target: _cast_ref(x, target),
        call=lambda c, x, target: c.cast(x, target),
        storage_only=True,
        exact=True,
    ),
    Case(
        F, "cast", "to-f32", ALL,
        build=lambda rng, dt: {"x": values(rng, dt, 7, 9, lo=-50, hi=50)},
        ref=lambda x: x.astype(np.float32),
        call=lambda c, x: c.cast(x, "f32"),
        storage_only=True,
        exact=True,
        out_dtype="f32",
    ),
    Case(
        F, "cast", "f16-to-bf16", (_dt.f16,),
        build=lambda rng, dt: {"x": values(rng, dt, 33, lo=-100, hi=100)},
        ref=lambda x: x.astype(_dt.bf16.np_dtype),
        call=lambda c, x: c.cast(x, "bf16"),
        storage_only=True,
        exact=True,
        out_dtype="bf16",
    ),
    Case(
        F, "cast", "transposed-to-i32", (_dt.f32, _dt.f16),
        build=lambda rng, dt: {"x": values(rng, dt, 9, 5, lo=-9, hi=9)},
        ref=lambda x: np.trunc(x),
        call=lambda c, x: c.cast(x, "i32"),
        view=lambda d: {"x": T(d["x"])},
        storage_only=True,
        out_dtype="i32",
    ),
)  # fmt: skip
