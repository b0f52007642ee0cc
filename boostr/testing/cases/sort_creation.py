"""Sort cases (sort, argsort, topk), creation cases and seeded random cases."""

from __future__ import annotations

import numpy as np

from ... import dtype as _dt
from ...ops.traits import Generator
from .. import philox, refs
from ._core import ALL, FLOATS, INTS, NUMERIC, Case, T, register, values

NAN_ROWS = np.array([[3.0, np.nan, 1.0, 3.0, -np.inf, np.nan, 0.5], [np.inf, 2.0, 2.0, np.nan, -1.0, 2.0, np.inf]])


def _ties(rng: np.random.Generator, dt, *shape: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    return rng.integers(0, 5, size=shape).astype(np.float64)


for _desc in (False, True):
    _v = "desc" if _desc else "asc"
    register(
        Case("sort", "sort", f"{_v},ties,5x33", NUMERIC,
             build=lambda rng, dt: {"x": _ties(rng, dt, 5, 33)},
             ref=lambda x, _d=_desc: refs.sort(x, -1, _d), call=lambda c, x, _d=_desc: c.sort(x, -1, _d),
             out_dtype=("same", "index")),
        Case("sort", "sort", f"{_v},distinct,1x257", FLOATS,
             build=lambda rng, dt: {"x": np.linspace(-4, 4, 257)[rng.permutation(257)][None]},
             ref=lambda x, _d=_desc: refs.sort(x, -1, _d), call=lambda c, x, _d=_desc: c.sort(x, -1, _d),
             out_dtype=("same", "index")),
        Case("sort", "sort", f"{_v},nan", (_dt.f32, _dt.f64, _dt.f16),
             build=lambda rng, dt: {"x": NAN_ROWS},
             ref=lambda x, _d=_desc: refs.sort(x, -1, _d), call=lambda c, x, _d=_desc: c.sort(x, -1, _d),
             out_dtype=("same", "index")),
        Case("sort", "argsort", f"{_v},dim0,transposed", (_dt.f32, _dt.i32),
             build=lambda rng, dt: {"x": _ties(rng, dt, 4, 9)},
             ref=lambda x, _d=_desc: refs.sort(x, 0, _d)[1], call=lambda c, x, _d=_desc: c.argsort(x, 0, _d),
             view=lambda d: {"x": T(d["x"])}, out_dtype="index"),
        Case("sort", "topk", f"{'largest' if _desc else 'smallest'},ties,k=5", NUMERIC,
             build=lambda rng, dt: {"x": _ties(rng, dt, 7, 33)},
             ref=lambda x, _d=_desc: refs.topk(x, 5, -1, _d), call=lambda c, x, _d=_desc: c.topk(x, 5, -1, _d),
             out_dtype=("same", "index")),
        Case("sort", "topk", f"{'largest' if _desc else 'smallest'},nan,k=3", (_dt.f32, _dt.bf16),
             build=lambda rng, dt: {"x": NAN_ROWS},
             ref=lambda x, _d=_desc: refs.topk(x, 3, -1, _d), call=lambda c, x, _d=_desc: c.topk(x, 3, -1, _d),
             out_dtype=("same", "index")),
    )  # fmt: skip
register(
    Case("sort", "sort", "length-1", (_dt.f32, _dt.i32),
         build=lambda rng, dt: {"x": values(rng, dt, 4, 1)},
         ref=lambda x: refs.sort(x, -1), call=lambda c, x: c.sort(x), out_dtype=("same", "index")),
    Case("sort", "sort", "0-d", (_dt.f32,),
         build=lambda rng, dt: {"x": values(rng, dt)},
         ref=lambda x: (x, np.zeros((), np.int64)), call=lambda c, x: c.sort(x), out_dtype=("same", "index")),
    Case("sort", "sort", "empty", (_dt.f32,),
         build=lambda rng, dt: {"x": values(rng, dt, 3, 0)},
         ref=lambda x: (x, np.zeros((3, 0), np.int64)), call=lambda c, x: c.sort(x), out_dtype=("same", "index")),
    Case("sort", "topk", "dim0,3d,k=2", (_dt.f32, _dt.f16, _dt.i64),
         build=lambda rng, dt: {"x": values(rng, dt, 6, 3, 4, lo=-20, hi=20)},
         ref=lambda x: refs.topk(x, 2, 0, True), call=lambda c, x: c.topk(x, 2, 0), out_dtype=("same", "index")),
    Case("sort", "topk", "k=0", (_dt.f32,),
         build=lambda rng, dt: {"x": values(rng, dt, 3, 8)},
         ref=lambda x: refs.topk(x, 0), call=lambda c, x: c.topk(x, 0), out_dtype=("same", "index")),
    Case("sort", "topk", "k=all,257", (_dt.f32,),
         build=lambda rng, dt: {"x": values(rng, dt, 2, 257)},
         ref=lambda x: refs.topk(x, 257), call=lambda c, x: c.topk(x, 257), out_dtype=("same", "index")),
)  # fmt: skip

# ----------------------------------------------------------------- creation
C = "creation"
register(
    Case(C, "zeros", "3x7", ALL, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: np.zeros((3, 7)), call=lambda c, dt: c.zeros(3, 7, dtype=dt), exact=True),
    Case(C, "ones", "33", ALL, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: np.ones(33), call=lambda c, dt: c.ones(33, dtype=dt), exact=True),
    Case(C, "ones", "0-d", ALL, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: np.ones(()), call=lambda c, dt: c.ones(dtype=dt), exact=True),
    Case(C, "zeros", "empty", ALL, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: np.zeros((0, 4)), call=lambda c, dt: c.zeros(0, 4, dtype=dt)),
    Case(C, "full", "257", ALL, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: np.full(257, True if dt.kind == "b" else 5), call=lambda c, dt: c.full(257, 5, dt), exact=True),
    Case(C, "full", "-inf", FLOATS, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: np.full((2, 3), -np.inf) if dt is not _dt.fp8_e4m3 else np.full((2, 3), -448.0),
         call=lambda c, dt: c.full((2, 3), float("-inf"), dt)),
    Case(C, "arange", "ints", INTS + FLOATS, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: np.arange(1, 34, 2), call=lambda c, dt: c.arange(1, 34, 2, dtype=dt)),
    Case(C, "arange", "float-step", FLOATS, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: np.arange(7) * 0.25 - 1.0, call=lambda c, dt: c.arange(-1.0, 0.75, 0.25, dtype=dt)),
    Case(C, "arange", "negative-step", (_dt.i32, _dt.i64, _dt.f32), storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: np.arange(5, -3, -2), call=lambda c, dt: c.arange(5, -3, -2, dtype=dt)),
    Case(C, "linspace", "7", FLOATS, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: np.linspace(-1, 2, 7), call=lambda c, dt: c.linspace(-1, 2, 7, dtype=dt)),
    Case(C, "linspace", "1", (_dt.f32,), storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: np.array([3.0]), call=lambda c, dt: c.linspace(3, 9, 1, dtype=dt)),
    Case(C, "eye", "5x7", ALL, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: np.eye(5, 7), call=lambda c, dt: c.eye(5, 7, dtype=dt), exact=True),
    Case(C, "full_like", "transposed", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 3, 5)},
         ref=lambda x: np.full((5, 3), 1), call=lambda c, x: c.full_like(x, 1), view=lambda d: {"x": T(d["x"])}),
    Case(C, "zeros_like", "3d", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 2, 3, 5)},
         ref=lambda x: np.zeros((2, 3, 5)), call=lambda c, x: c.zeros_like(x)),
)  # fmt: skip

# ------------------------------------------------------------------- random
R = "random"
register(
    Case(R, "rand", "seed7,257", FLOATS, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: philox.uniform(257, 7, 0), call=lambda c, dt: c.rand(257, dtype=dt, generator=Generator(7))),
    Case(R, "rand", "second-draw", (_dt.f32,), storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: philox.uniform(33, 2**40 + 5, 1).reshape(3, 11),
         call=lambda c, dt: _second(c, lambda g: c.rand(3, 11, dtype=dt, generator=g), 2**40 + 5)),
    Case(R, "uniform", "[-2,3)", (_dt.f32, _dt.f64, _dt.f16), storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: philox.uniform(65, 11, 0, -2.0, 3.0),
         call=lambda c, dt: c.uniform((65,), -2.0, 3.0, dtype=dt, generator=Generator(11))),
    Case(R, "randn", "seed3,7x33", FLOATS, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: philox.normal(231, 3, 0).reshape(7, 33),
         call=lambda c, dt: c.randn(7, 33, dtype=dt, generator=Generator(3)), scale=4),
    Case(R, "randint", "[-5,12)", INTS, storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: philox.randint(257, 99, 0, 0 if dt.kind == "u" else -5, 12),
         call=lambda c, dt: c.randint(0 if dt.kind == "u" else -5, 12, (257,), dtype=dt, generator=Generator(99))),
    Case(R, "randint", "full-u32-span", (_dt.i64,), storage_only=True, build=lambda rng, dt: {"dt": dt},
         ref=lambda dt: philox.randint(64, 5, 0, -(2**31), 2**31),
         call=lambda c, dt: c.randint(-(2**31), 2**31, 64, dtype=dt, generator=Generator(5))),
)  # fmt: skip


def _second(c, draw, seed: int):  # type: ignore[no-untyped-def]
    """The second draw of a fresh generator (counter offset 1)."""
    g = Generator(seed)
    draw(g)
    return draw(g)
