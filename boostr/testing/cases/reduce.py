"""Reduction cases: sum, mean, prod, max, min, argmax, argmin, any, all, var, std,
logsumexp over any dims with keepdim; softmax, log_softmax and cumsum along one dim."""

from __future__ import annotations

import numpy as np

from ... import dtype as _dt
from .. import refs
from ._core import ALL, FLOATS, NUMERIC, Case, T, register, values

F = "reduce"
DIMS = (("all", None, False), ("dim1", 1, False), ("dims0,2-keep", (0, 2), True), ("last-keep", -1, True))


def _ties(rng: np.random.Generator, dt, *shape: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Small integers (many ties) in any dtype."""
    return rng.integers(0, 4, size=shape).astype(np.float64) if dt.kind != "b" else rng.random(shape) < 0.5


def _near_one(rng: np.random.Generator, dt, span: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Products stay in range: floats in [0.8, 1.25], ints in [-span, span]."""
    if dt.is_float:
        return values(rng, dt, 3, 7, 5, lo=0.8, hi=1.25)
    return values(rng, dt, 3, 7, 5, lo=-span, hi=span)


for _name, _dim, _keep in DIMS:
    register(
        Case(
            F, "sum", _name, (*NUMERIC, _dt.bool_),
            build=lambda rng, dt: {"x": values(rng, dt, 3, 7, 33, lo=-3, hi=6)},
            ref=lambda x, _d=_dim, _k=_keep: np.sum(x.astype(np.float64), axis=_d, keepdims=_k),
            call=lambda c, x, _d=_dim, _k=_keep: c.sum(x, _d, _k),
            out_dtype="acc", scale=8,
        ),
        Case(
            F, "mean", _name, FLOATS,
            build=lambda rng, dt: {"x": values(rng, dt, 3, 7, 33)},
            ref=lambda x, _d=_dim, _k=_keep: np.mean(x, axis=_d, keepdims=_k),
            call=lambda c, x, _d=_dim, _k=_keep: c.mean(x, _d, _k),
            scale=8,
        ),
        Case(
            F, "max", _name, ALL,
            build=lambda rng, dt: {"x": values(rng, dt, 3, 7, 33, lo=-50, hi=50)},
            ref=lambda x, _d=_dim, _k=_keep: np.max(x, axis=_d, keepdims=_k),
            call=lambda c, x, _d=_dim, _k=_keep: c.max(x, _d, _k),
        ),
        Case(
            F, "min", _name, ALL,
            build=lambda rng, dt: {"x": values(rng, dt, 3, 7, 33, lo=-50, hi=50)},
            ref=lambda x, _d=_dim, _k=_keep: np.min(x, axis=_d, keepdims=_k),
            call=lambda c, x, _d=_dim, _k=_keep: c.min(x, _d, _k),
        ),
        Case(
            F, "any", _name, ALL,
            build=lambda rng, dt: {"x": (rng.random((3, 7, 5)) < 0.1).astype(np.float64) * 2},
            ref=lambda x, _d=_dim, _k=_keep: np.any(x != 0, axis=_d, keepdims=_k),
            call=lambda c, x, _d=_dim, _k=_keep: c.any(x, _d, _k),
            out_dtype="bool", storage_only=True,
        ),
        Case(
            F, "all", _name, ALL,
            build=lambda rng, dt: {"x": (rng.random((3, 7, 5)) < 0.9).astype(np.float64) * 3},
            ref=lambda x, _d=_dim, _k=_keep: np.all(x != 0, axis=_d, keepdims=_k),
            call=lambda c, x, _d=_dim, _k=_keep: c.all(x, _d, _k),
            out_dtype="bool", storage_only=True,
        ),
        Case(
            F, "var", _name, FLOATS,
            build=lambda rng, dt: {"x": values(rng, dt, 3, 7, 33)},
            ref=lambda x, _d=_dim, _k=_keep: refs.var(x, _d, _k),
            call=lambda c, x, _d=_dim, _k=_keep: c.var(x, _d, _k),
            scale=4,
        ),
        Case(
            F, "logsumexp", _name, FLOATS,
            build=lambda rng, dt: {"x": values(rng, dt, 3, 7, 33, lo=-10, hi=10)},
            ref=lambda x, _d=_dim, _k=_keep: refs.logsumexp(x, _d, _k),
            call=lambda c, x, _d=_dim, _k=_keep: c.logsumexp(x, _d, _k),
        ),
    )  # fmt: skip

register(
    Case(
        F, "prod", "dim-1", NUMERIC,
        build=lambda rng, dt: {"x": _near_one(rng, dt, 2)},
        ref=lambda x: np.prod(x.astype(np.float64), axis=-1),
        call=lambda c, x: c.prod(x, -1),
        out_dtype="acc",
    ),
    Case(
        F, "prod", "dims0,2", (_dt.f32, _dt.f64, _dt.i32),
        build=lambda rng, dt: {"x": _near_one(rng, dt, 1)},
        ref=lambda x: np.prod(x.astype(np.float64), axis=(0, 2)),
        call=lambda c, x: c.prod(x, (0, 2)),
        out_dtype="acc",
    ),
    Case(
        F, "sum", "transposed", FLOATS,
        build=lambda rng, dt: {"x": values(rng, dt, 33, 7)},
        ref=lambda x: np.sum(x, axis=1),
        call=lambda c, x: c.sum(x, 1),
        view=lambda d: {"x": T(d["x"])},
        scale=8,
    ),
    Case(
        F, "sum", "empty", NUMERIC,
        build=lambda rng, dt: {"x": values(rng, dt, 0, 5)},
        ref=lambda x: np.sum(x.astype(np.float64), axis=0),
        call=lambda c, x: c.sum(x, 0),
        out_dtype="acc",
    ),
    Case(
        F, "sum", "0-d", FLOATS,
        build=lambda rng, dt: {"x": values(rng, dt)},
        ref=lambda x: x,
        call=lambda c, x: c.sum(x),
    ),
    Case(
        F, "prod", "empty", (_dt.f32, _dt.i32),
        build=lambda rng, dt: {"x": values(rng, dt, 4, 0)},
        ref=lambda x: np.ones(4),
        call=lambda c, x: c.prod(x, 1),
        out_dtype="acc",
    ),
    Case(
        F, "mean", "empty-nan", (_dt.f32,),
        build=lambda rng, dt: {"x": values(rng, dt, 0, 3)},
        ref=lambda x: np.full(3, np.nan),
        call=lambda c, x: c.mean(x, 0),
    ),
    Case(
        F, "max", "nan-propagates", (_dt.f32, _dt.f64, _dt.f16),
        build=lambda rng, dt: {"x": np.array([[1.0, np.nan, 3.0], [np.inf, 2.0, -np.inf], [-np.inf] * 3])},
        ref=lambda x: np.max(x, axis=1),
        call=lambda c, x: c.max(x, 1),
    ),
    Case(
        F, "min", "nan-propagates", (_dt.f32,),
        build=lambda rng, dt: {"x": np.array([[1.0, np.nan, 3.0], [np.inf, 2.0, -np.inf]])},
        ref=lambda x: np.min(x, axis=1),
        call=lambda c, x: c.min(x, 1),
    ),
    Case(
        F, "var", "correction0", FLOATS,
        build=lambda rng, dt: {"x": values(rng, dt, 5, 257)},
        ref=lambda x: refs.var(x, -1, False, correction=0),
        call=lambda c, x: c.var(x, -1, correction=0),
        scale=8,
    ),
    Case(
        F, "var", "n1-nan", (_dt.f32,),
        build=lambda rng, dt: {"x": values(rng, dt, 4, 1)},
        ref=lambda x: refs.var(x, 1),
        call=lambda c, x: c.var(x, 1),
    ),
    Case(
        F, "std", "dim0", FLOATS,
        build=lambda rng, dt: {"x": values(rng, dt, 33, 6)},
        ref=lambda x: np.sqrt(refs.var(x, 0)),
        call=lambda c, x: c.std(x, 0),
        scale=4,
    ),
    Case(
        F, "logsumexp", "inf-rows", (_dt.f32, _dt.f64),
        build=lambda rng, dt: {"x": np.array([[-np.inf] * 4, [0.0, -np.inf, 1.0, -np.inf], [1e4, 1e4, -1e4, 0.0]])},
        ref=lambda x: refs.logsumexp(x, 1),
        call=lambda c, x: c.logsumexp(x, 1),
    ),
)  # fmt: skip

for _op in ("argmax", "argmin"):
    _largest = _op == "argmax"
    register(
        Case(
            F, _op, "ties-dim1", NUMERIC,
            build=lambda rng, dt: {"x": _ties(rng, dt, 5, 33, 3)},
            ref=lambda x, _l=_largest: refs.argext(x, 1, _l),
            call=lambda c, x, _o=_op: getattr(c, _o)(x, 1),
            out_dtype="index",
        ),
        Case(
            F, _op, "flat", NUMERIC,
            build=lambda rng, dt: {"x": _ties(rng, dt, 7, 9)},
            ref=lambda x, _l=_largest: refs.argext(x, None, _l),
            call=lambda c, x, _o=_op: getattr(c, _o)(x),
            out_dtype="index",
        ),
        Case(
            F, _op, "keepdim-transposed", (_dt.f32, _dt.i32),
            build=lambda rng, dt: {"x": _ties(rng, dt, 9, 4)},
            ref=lambda x, _l=_largest: refs.argext(x, 1, _l)[:, None],
            call=lambda c, x, _o=_op: getattr(c, _o)(x, 1, True),
            view=lambda d: {"x": T(d["x"])},
            out_dtype="index",
        ),
        Case(
            F, _op, "nan-wins", (_dt.f32, _dt.f64, _dt.f16, _dt.bf16),
            build=lambda rng, dt: {"x": np.array([[1.0, np.nan, 5.0, np.nan], [np.inf, 2.0, np.nan, -np.inf],
                                                  [-np.inf, -np.inf, -np.inf, -np.inf], [3.0, 3.0, 1.0, 1.0]])},
            ref=lambda x, _l=_largest: refs.argext(x, 1, _l),
            call=lambda c, x, _o=_op: getattr(c, _o)(x, -1),
            out_dtype="index",
        ),
    )  # fmt: skip

# ------------------------------------------------------------------ row ops
for _op, _ref in (("softmax", refs.softmax), ("log_softmax", refs.log_softmax)):
    register(
        Case(
            F, _op, "7x33", FLOATS,
            build=lambda rng, dt: {"x": values(rng, dt, 7, 33, lo=-8, hi=8)},
            ref=lambda x, _r=_ref: _r(x, -1),
            call=lambda c, x, _o=_op: getattr(c, _o)(x, -1),
        ),
        Case(
            F, _op, "1x257", FLOATS,
            build=lambda rng, dt: {"x": values(rng, dt, 1, 257, lo=-8, hi=8)},
            ref=lambda x, _r=_ref: _r(x, -1),
            call=lambda c, x, _o=_op: getattr(c, _o)(x),
        ),
        Case(
            F, _op, "dim0-3d", FLOATS,
            build=lambda rng, dt: {"x": values(rng, dt, 7, 3, 5, lo=-4, hi=4)},
            ref=lambda x, _r=_ref: _r(x, 0),
            call=lambda c, x, _o=_op: getattr(c, _o)(x, 0),
        ),
        Case(
            F, _op, "transposed", (_dt.f32, _dt.f16),
            build=lambda rng, dt: {"x": values(rng, dt, 33, 6, lo=-4, hi=4)},
            ref=lambda x, _r=_ref: _r(x, -1),
            call=lambda c, x, _o=_op: getattr(c, _o)(x, -1),
            view=lambda d: {"x": T(d["x"])},
        ),
        Case(
            F, _op, "large-values", (_dt.f32, _dt.f64),
            build=lambda rng, dt: {"x": np.array([[1000.0, 1000.0, -1000.0], [-1e30, 0.0, 1e30], [88.0, 89.0, 90.0]])},
            ref=lambda x, _r=_ref: _r(x, -1),
            call=lambda c, x, _o=_op: getattr(c, _o)(x, -1),
        ),
        Case(
            F, _op, "masked-rows", (_dt.f32, _dt.f16, _dt.f64),
            # row 0 fully masked (all -inf: NaN, as 0/0), row 1 partly masked, row 2 a single survivor
            build=lambda rng, dt: {"x": np.array([[-np.inf] * 4, [0.5, -np.inf, 1.5, -np.inf],
                                                  [-np.inf, -np.inf, 2.0, -np.inf]])},
            ref=lambda x, _r=_ref: _r(x, -1),
            call=lambda c, x, _o=_op: getattr(c, _o)(x, -1),
        ),
        Case(
            F, _op, "length-1", (_dt.f32,),
            build=lambda rng, dt: {"x": values(rng, dt, 5, 1)},
            ref=lambda x, _r=_ref: _r(x, -1),
            call=lambda c, x, _o=_op: getattr(c, _o)(x, -1),
        ),
        Case(
            F, _op, "empty-rows", (_dt.f32,),
            build=lambda rng, dt: {"x": values(rng, dt, 0, 7)},
            ref=lambda x: np.zeros((0, 7)),
            call=lambda c, x, _o=_op: getattr(c, _o)(x, -1),
        ),
    )  # fmt: skip
register(
    Case(
        F, "softmax", "0-d", (_dt.f32,),
        build=lambda rng, dt: {"x": values(rng, dt)},
        ref=lambda x: np.ones(()),
        call=lambda c, x: c.softmax(x, -1),
    ),
    Case(
        F, "cumsum", "dim1", (*NUMERIC, _dt.bool_),
        build=lambda rng, dt: {"x": values(rng, dt, 3, 33, 2, lo=-2, hi=4)},
        ref=lambda x: refs.cumsum(x.astype(np.float64), 1),
        call=lambda c, x: c.cumsum(x, 1),
        out_dtype="acc", scale=8,
    ),
    Case(
        F, "cumsum", "257", FLOATS,
        build=lambda rng, dt: {"x": values(rng, dt, 257, lo=0, hi=1)},
        ref=lambda x: refs.cumsum(x, 0),
        call=lambda c, x: c.cumsum(x, 0),
        scale=16,
    ),
    Case(
        F, "cumsum", "transposed", (_dt.f32, _dt.i32),
        build=lambda rng, dt: {"x": values(rng, dt, 7, 5, lo=-2, hi=4)},
        ref=lambda x: refs.cumsum(x.astype(np.float64), -1),
        call=lambda c, x: c.cumsum(x, -1),
        view=lambda d: {"x": T(d["x"])},
        out_dtype="acc", scale=4,
    ),
)  # fmt: skip
