"""Shape cases (contiguous, copy, slice assign, cat, stack, split, chunk, pad, repeat,
repeat_interleave, roll, flip, tril/triu) and indexing cases (gather, scatter,
scatter_add, index_select, embedding)."""

from __future__ import annotations

import numpy as np

from ... import dtype as _dt
from .. import refs
from ._core import ALL, FLOATS, INTS, Case, Fixed, T, expand, register, values

S = "shape"


def _slice_assign(c, dst, value):  # type: ignore[no-untyped-def]
    out = c.copy(dst)
    out[1:4, ::2] = value
    return out


def _slice_assign_ref(dst, value):  # type: ignore[no-untyped-def]
    out = np.array(dst, copy=True)
    out[1:4, ::2] = value
    return out


register(
    Case(S, "contiguous", "transposed", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 7, 33)},
         ref=lambda x: np.ascontiguousarray(x), call=lambda c, x: c.contiguous(x), view=lambda d: {"x": T(d["x"])}),
    Case(S, "contiguous", "step-slice-3d", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 5, 8, 9)},
         ref=lambda x: np.ascontiguousarray(x), call=lambda c, x: c.contiguous(x),
         view=lambda d: {"x": d["x"][1::2, :, 2:7:3]}),
    Case(S, "copy", "expanded", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 1, 7)},
         ref=lambda x: np.array(x), call=lambda c, x: c.copy(x), view=lambda d: {"x": expand(d["x"], 4, 7)}),
    Case(S, "slice_assign", "broadcast-row", ALL, storage_only=True,
         build=lambda rng, dt: {"dst": values(rng, dt, 5, 9), "value": values(rng, dt, 5)},
         ref=_slice_assign_ref, call=_slice_assign, argmap=(("dst", "x"),)),
    Case(S, "cat", "dim0", ALL, storage_only=True,
         build=lambda rng, dt: {"tensors": [values(rng, dt, 2, 7), values(rng, dt, 1, 7), values(rng, dt, 0, 7)]},
         ref=lambda tensors: np.concatenate(tensors, 0), call=lambda c, tensors: c.cat(tensors, 0)),
    Case(S, "cat", "dim-1,noncontig", ALL, storage_only=True,
         build=lambda rng, dt: {"tensors": [values(rng, dt, 33, 3), values(rng, dt, 3, 5)]},
         ref=lambda tensors: np.concatenate(tensors, -1), call=lambda c, tensors: c.cat(tensors, -1),
         view=lambda d: {"tensors": [T(d["tensors"][0]), d["tensors"][1]]}),
    Case(S, "stack", "dim1", ALL, storage_only=True,
         build=lambda rng, dt: {"tensors": [values(rng, dt, 3, 4) for _ in range(3)]},
         ref=lambda tensors: np.stack(tensors, 1), call=lambda c, tensors: c.stack(tensors, 1)),
    Case(S, "stack", "0-d", (_dt.f32, _dt.i32), storage_only=True,
         build=lambda rng, dt: {"tensors": [values(rng, dt) for _ in range(4)]},
         ref=lambda tensors: np.stack(tensors), call=lambda c, tensors: c.stack(tensors)),
    Case(S, "split", "sizes", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 7, 4)},
         ref=lambda x: (x[:2], x[2:2], x[2:]), call=lambda c, x: tuple(c.split(x, [2, 0, 5], 0))),
    Case(S, "split", "int-size", (_dt.f32,), storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 3, 7)},
         ref=lambda x: (x[:, :3], x[:, 3:6], x[:, 6:]), call=lambda c, x: tuple(c.split(x, 3, 1))),
    Case(S, "chunk", "uneven", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 7)},
         ref=lambda x: (x[:3], x[3:6], x[6:]), call=lambda c, x: tuple(c.chunk(x, 3))),
    Case(S, "pad", "last-two-dims", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 2, 3, 4)},
         ref=lambda x: np.pad(x, ((0, 0), (2, 0), (1, 3)), constant_values=1),
         call=lambda c, x: c.pad(x, (1, 3, 2, 0), value=1)),
    Case(S, "repeat", "2d", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 2, 3)},
         ref=lambda x: np.tile(x, (2, 2, 3)), call=lambda c, x: c.repeat(x, 2, 2, 3)),
    Case(S, "repeat_interleave", "dim1", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 2, 3, 4)},
         ref=lambda x: np.repeat(x, 3, axis=1), call=lambda c, x: c.repeat_interleave(x, 3, 1)),
    Case(S, "roll", "negative", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 4, 7)},
         ref=lambda x: np.roll(x, -9, axis=1), call=lambda c, x: c.roll(x, -9, 1)),
    Case(S, "roll", "transposed", (_dt.f32,), storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 7, 4)},
         ref=lambda x: np.roll(x, 2, axis=0), call=lambda c, x: c.roll(x, 2, 0), view=lambda d: {"x": T(d["x"])}),
    Case(S, "flip", "dims0,2", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 3, 4, 5)},
         ref=lambda x: np.flip(x, (0, 2)), call=lambda c, x: c.flip(x, (0, 2))),
)  # fmt: skip
for _k in (-1, 0, 2):
    register(
        Case(S, "tril", f"k={_k}", ALL, storage_only=True,
             build=lambda rng, dt: {"x": values(rng, dt, 2, 5, 7, lo=1, hi=9)},
             ref=lambda x, _k=_k: np.tril(x, _k), call=lambda c, x, _k=_k: c.tril(x, _k)),
        Case(S, "triu", f"k={_k}", ALL, storage_only=True,
             build=lambda rng, dt: {"x": values(rng, dt, 6, 4, lo=1, hi=9)},
             ref=lambda x, _k=_k: np.triu(x, _k), call=lambda c, x, _k=_k: c.triu(x, _k)),
    )  # fmt: skip

# ---------------------------------------------------------------- indexing
I = "indexing"  # noqa: E741


def _idx(rng: np.random.Generator, n: int, *shape: int) -> Fixed:
    return Fixed(rng.integers(0, n, size=shape), "index")


def _perm_index(rng: np.random.Generator, n: int, rows: int, cols: int) -> Fixed:
    """Unique target indices along dim 0 for every column (scatter without collisions)."""
    return Fixed(np.stack([rng.permutation(n)[:rows] for _ in range(cols)], axis=1), "index")


register(
    Case(I, "gather", "dim1", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 4, 9), "index": _idx(rng, 9, 4, 5)},
         ref=lambda x, index: refs.gather(x, 1, index), call=lambda c, x, index: c.gather(x, 1, index)),
    Case(I, "gather", "dim0,smaller-index,transposed-x", (_dt.f32, _dt.i32, _dt.f16), storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 6, 7), "index": _idx(rng, 6, 4, 3)},
         ref=lambda x, index: refs.gather(x, 0, index), call=lambda c, x, index: c.gather(x, 0, index),
         view=lambda d: {"x": T(d["x"]), "index": d["index"]}),
    Case(I, "gather", "empty-index", (_dt.f32,), storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 4, 9), "index": Fixed(np.zeros((4, 0), np.int64), "index")},
         ref=lambda x, index: np.zeros((4, 0)), call=lambda c, x, index: c.gather(x, 1, index)),
    Case(I, "scatter", "dim0-unique", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 7, 5), "index": _perm_index(rng, 7, 3, 5),
                                "src": values(rng, dt, 3, 5)},
         ref=lambda x, index, src: refs.scatter(x, 0, index, src, False),
         call=lambda c, x, index, src: c.scatter(x, 0, index, src)),
    Case(I, "scatter_add", "dim1-duplicates", FLOATS + INTS,
         build=lambda rng, dt: {"x": values(rng, dt, 3, 6, lo=0, hi=5), "index": _idx(rng, 6, 3, 11),
                                "src": values(rng, dt, 3, 11, lo=0, hi=3)},
         ref=lambda x, index, src: refs.scatter(x, 1, index, src, True),
         call=lambda c, x, index, src: c.scatter_add(x, 1, index, src), scale=4),
    Case(I, "scatter_add", "src-larger-than-index", (_dt.f32,),
         build=lambda rng, dt: {"x": values(rng, dt, 4, 4), "index": _idx(rng, 4, 2, 3),
                                "src": values(rng, dt, 3, 5)},
         ref=lambda x, index, src: refs.scatter(x, 0, index, src[:2, :3], True),
         call=lambda c, x, index, src: c.scatter_add(x, 0, index, src)),
    Case(I, "index_select", "dim1", ALL, storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 3, 33), "index": _idx(rng, 33, 7)},
         ref=lambda x, index: refs.index_select(x, 1, index), call=lambda c, x, index: c.index_select(x, 1, index)),
    Case(I, "index_select", "dim0,repeats,noncontig", (_dt.f32, _dt.bf16, _dt.i64), storage_only=True,
         build=lambda rng, dt: {"x": values(rng, dt, 9, 5), "index": Fixed(np.array([4, 0, 4, 2]), "index")},
         ref=lambda x, index: refs.index_select(x, 0, index), call=lambda c, x, index: c.index_select(x, 0, index),
         view=lambda d: {"x": T(d["x"]), "index": d["index"]}),
    Case(I, "embedding", "2d-ids", ALL, storage_only=True,
         build=lambda rng, dt: {"weight": values(rng, dt, 11, 16), "ids": _idx(rng, 11, 3, 5)},
         ref=lambda weight, ids: refs.embedding(weight, ids), call=lambda c, weight, ids: c.embedding(weight, ids)),
    Case(I, "embedding", "i32-ids", (_dt.f32, _dt.f16), storage_only=True,
         build=lambda rng, dt: {"weight": values(rng, dt, 50, 8), "ids": Fixed(np.array([49, 0, 7, 7]), "i32")},
         ref=lambda weight, ids: refs.embedding(weight, ids), call=lambda c, weight, ids: c.embedding(weight, ids)),
)  # fmt: skip
