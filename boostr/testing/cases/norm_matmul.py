"""Norm cases (rms_norm, layer_norm, add_rms_norm) and matmul cases."""

from __future__ import annotations

import numpy as np

from ... import dtype as _dt
from .. import refs
from ._core import FLOATS, Case, T, expand, register, values

SHAPES = (("7x33", (7, 33)), ("1x257", (1, 257)), ("2x3x64", (2, 3, 64)), ("1x1", (1, 1)))

for _name, _shape in SHAPES:
    _c = _shape[-1]
    register(
        Case(
            "norm", "rms_norm", f"{_name},weight", FLOATS,
            build=lambda rng, dt, _s=_shape, _c=_c: {
                "x": values(rng, dt, *_s), "weight": values(rng, dt, _c, lo=0.5, hi=2)
            },
            ref=lambda x, weight: refs.rms_norm(x, weight, 1e-6),
            call=lambda c, x, weight: c.rms_norm(x, weight, 1e-6),
        ),
        Case(
            "norm", "layer_norm", f"{_name},weight,bias", FLOATS,
            build=lambda rng, dt, _s=_shape, _c=_c: {
                "x": values(rng, dt, *_s), "weight": values(rng, dt, _c, lo=0.5, hi=2), "bias": values(rng, dt, _c)
            },
            ref=lambda x, weight, bias: refs.layer_norm(x, weight, bias, 1e-5),
            call=lambda c, x, weight, bias: c.layer_norm(x, weight, bias, 1e-5),
            scale=2,
        ),
        Case(
            "norm", "add_rms_norm", f"{_name},weight", FLOATS,
            build=lambda rng, dt, _s=_shape, _c=_c: {
                "x": values(rng, dt, *_s), "residual": values(rng, dt, *_s), "weight": values(rng, dt, _c, lo=0.5, hi=2)
            },
            ref=lambda x, residual, weight: refs.add_rms_norm(x, residual, weight, 1e-6),
            call=lambda c, x, residual, weight: c.add_rms_norm(x, residual, weight, 1e-6),
        ),
    )  # fmt: skip

register(
    Case(
        "norm", "rms_norm", "no-weight,eps0.1", FLOATS,
        build=lambda rng, dt: {"x": values(rng, dt, 5, 33, lo=-0.5, hi=0.5)},
        ref=lambda x: refs.rms_norm(x, None, 0.1),
        call=lambda c, x: c.rms_norm(x, eps=0.1),
    ),
    Case(
        "norm", "rms_norm", "transposed", (_dt.f32, _dt.f16),
        build=lambda rng, dt: {"x": values(rng, dt, 33, 7), "weight": values(rng, dt, 33)},
        ref=lambda x, weight: refs.rms_norm(x, weight),
        call=lambda c, x, weight: c.rms_norm(x, weight),
        view=lambda d: {"x": T(d["x"]), "weight": d["weight"]},
    ),
    Case(
        "norm", "rms_norm", "zero-row", (_dt.f32,),
        build=lambda rng, dt: {"x": np.zeros((2, 8))},
        ref=lambda x: refs.rms_norm(x),
        call=lambda c, x: c.rms_norm(x),
    ),
    Case(
        "norm", "rms_norm", "empty", (_dt.f32,),
        build=lambda rng, dt: {"x": values(rng, dt, 0, 8)},
        ref=lambda x: np.zeros((0, 8)),
        call=lambda c, x: c.rms_norm(x),
    ),
    Case(
        "norm", "layer_norm", "no-affine,step-slice", FLOATS,
        build=lambda rng, dt: {"x": values(rng, dt, 10, 66, lo=2, hi=6)},
        ref=lambda x: refs.layer_norm(x),
        call=lambda c, x: c.layer_norm(x),
        view=lambda d: {"x": d["x"][::3, ::2]},
        scale=2,
    ),
    Case(
        "norm", "layer_norm", "constant-row", (_dt.f32, _dt.f64),
        build=lambda rng, dt: {"x": np.full((3, 16), 2.5)},
        ref=lambda x: refs.layer_norm(x),
        call=lambda c, x: c.layer_norm(x),
    ),
    Case(
        "norm", "add_rms_norm", "no-weight,expanded-residual", (_dt.f32, _dt.bf16),
        build=lambda rng, dt: {"x": values(rng, dt, 4, 33), "residual": values(rng, dt, 1, 33)},
        ref=lambda x, residual: refs.add_rms_norm(x, residual),
        call=lambda c, x, residual: c.add_rms_norm(x, residual),
        view=lambda d: {"x": d["x"], "residual": expand(d["residual"], 4, 33)},
    ),
)  # fmt: skip

# ------------------------------------------------------------------- matmul
MM = (
    ("7x33@33x5", (7, 33), (33, 5)),
    ("1x1@1x1", (1, 1), (1, 1)),
    ("1x257@257x1", (1, 257), (257, 1)),
    ("batched-broadcast", (2, 3, 7, 16), (16, 9)),
    ("batch-broadcast-both", (3, 1, 8, 4), (2, 4, 6)),
    ("64x64x64", (64, 64), (64, 64)),
    ("vec@mat", (33,), (33, 7)),
    ("mat@vec", (7, 33), (33,)),
    ("vec@vec", (17,), (17,)),
    ("batched@vec", (2, 5, 6), (6,)),
    ("K=0", (3, 0), (0, 4)),
    ("M=0", (0, 5), (5, 4)),
)
for _name, _sa, _sb in MM:
    _k = _sa[-1]
    register(
        Case(
            "matmul", "matmul", _name, FLOATS,
            build=lambda rng, dt, _sa=_sa, _sb=_sb: {"a": values(rng, dt, *_sa, lo=-1, hi=1),
                                                      "b": values(rng, dt, *_sb, lo=-1, hi=1)},
            ref=lambda a, b: refs.matmul(a, b),
            call=lambda c, a, b: c.matmul(a, b),
            scale=max(1.0, _k / 8),
        )
    )  # fmt: skip
register(
    Case(
        "matmul", "matmul", "128x128x128", (_dt.f32,),
        build=lambda rng, dt: {"a": values(rng, dt, 128, 128, lo=-1, hi=1), "b": values(rng, dt, 128, 128, lo=-1)},
        ref=lambda a, b: refs.matmul(a, b),
        call=lambda c, a, b: c.matmul(a, b),
        scale=16,
    ),
    Case(
        "matmul", "matmul", "loops-5x3x4", (_dt.f32, _dt.f64),
        build=lambda rng, dt: {"a": values(rng, dt, 5, 3), "b": values(rng, dt, 3, 4)},
        ref=lambda a, b: refs.matmul_loops(a, b),
        call=lambda c, a, b: c.matmul(a, b),
    ),
    Case(
        "matmul", "matmul", "transposed-a", FLOATS,
        build=lambda rng, dt: {"a": values(rng, dt, 33, 7, lo=-1, hi=1), "b": values(rng, dt, 33, 9, lo=-1, hi=1)},
        ref=lambda a, b: refs.matmul(a, b),
        call=lambda c, a, b: c.matmul(a, b),
        view=lambda d: {"a": T(d["a"]), "b": d["b"]},
        scale=4,
    ),
    Case(
        "matmul", "matmul", "transposed-b,batched", (_dt.f32, _dt.f16, _dt.f64),
        build=lambda rng, dt: {"a": values(rng, dt, 3, 5, 16, lo=-1, hi=1), "b": values(rng, dt, 3, 7, 16, lo=-1)},
        ref=lambda a, b: refs.matmul(a, b),
        call=lambda c, a, b: c.matmul(a, b),
        view=lambda d: {"a": d["a"], "b": T(d["b"])},
        scale=2,
    ),
    Case(
        "matmul", "matmul", "sliced-operands", (_dt.f32, _dt.bf16),
        build=lambda rng, dt: {"a": values(rng, dt, 10, 40, lo=-1, hi=1), "b": values(rng, dt, 20, 12, lo=-1, hi=1)},
        ref=lambda a, b: refs.matmul(a, b),
        call=lambda c, a, b: c.matmul(a, b),
        view=lambda d: {"a": d["a"][1:8, ::2], "b": d["b"][:, 2:9]},
        scale=4,
    ),
    Case(
        "matmul", "matmul", "expanded-batch", (_dt.f32,),
        build=lambda rng, dt: {"a": values(rng, dt, 1, 4, 8, lo=-1, hi=1), "b": values(rng, dt, 3, 8, 5, lo=-1, hi=1)},
        ref=lambda a, b: refs.matmul(a, b),
        call=lambda c, a, b: c.matmul(a, b),
        view=lambda d: {"a": expand(d["a"], 3, 4, 8), "b": d["b"]},
    ),
    Case(
        "matmul", "matmul", "f16@f32-promote", (_dt.f16,),
        build=lambda rng, dt: {"a": values(rng, dt, 4, 8, lo=-1, hi=1), "b": values(rng, _dt.f32, 8, 3, lo=-1, hi=1)},
        ref=lambda a, b: refs.matmul(a, b),
        call=lambda c, a, b: c.matmul(a, c.cast(b, "f32")),
        out_dtype="f32",
        argmap=(("b", "x"),),
    ),
)  # fmt: skip
