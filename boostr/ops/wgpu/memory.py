"""wgpu copy / fill hooks and the strided map launcher every elementwise hook uses.

``run_map`` drives ``kernels/wgsl/elementwise/map.wgsl``: it coalesces the views'
dims, splits the flat output range so each view's touched elements fit one
binding window, and records one dispatch per piece. All of that runs once per
(body, dtypes, shapes, strides, offsets, scalars): later calls replay the launch plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import dtype as _dt
from ...dtype import DType
from ...tensor import Tensor
from ._kern import (
    WG,
    coalesce,
    ctype,
    decl,
    flat_bounds,
    flat_chunks,
    kernel,
    launch,
    meta,
    planned,
    scalar_word,
    window,
)

MAX_DIMS = 8
_NAMES = ("out", "a", "b", "c")


def ops_lib(dt: DType) -> str:
    """The rendered op library (``op_<name>`` functions) for computing in ``dt``."""
    from ...kernels.sources import render

    c = ctype(dt)
    if c == "f32":
        return render("wgsl/elementwise/ops_float.wgsl")
    return render("wgsl/elementwise/ops_int.wgsl", C=c, NEG1="-1i" if c == "i32" else "0xffffffffu")


def run_map(client: Any, body: str, out: Tensor, inputs: Sequence[Tensor], scalars: Sequence[int] = (),
            ops: DType | None = None) -> None:  # fmt: skip
    """``out[e] = body`` over out's elements; ``body`` uses ``ld_a(o1)``, ``st_out(o0, v)``, ``sf(k)``..."""
    views = (out, *inputs)
    key = ("map", body, ops.name if ops is not None else None, tuple(scalars), *[meta(v) for v in views])
    planned(client, key, views, lambda: _map(client, body, out, inputs, scalars, ops))


def _map(client: Any, body: str, out: Tensor, inputs: Sequence[Tensor], scalars: Sequence[int],
         ops: DType | None) -> None:  # fmt: skip
    views = [out, *inputs]
    shape, strides = coalesce(out.shape, [v.strides for v in views])
    if len(shape) > MAX_DIMS:
        tmp = [client.contiguous(v) if i and not v.is_contiguous() else v for i, v in enumerate(views)]
        if not out.is_contiguous():
            o = client._new(out.shape, out.dtype)
            run_map(client, body, o, tmp[1:], scalars, ops)
            client._k_copy(o, out)
            return
        run_map(client, body, out, tmp[1:], scalars, ops)
        return
    decls = "\n".join(decl(_NAMES[i], i, v.dtype, "w" if i == 0 else "r") for i, v in enumerate(views))
    nd = len(shape)
    k = kernel(client, "wgsl/elementwise/map.wgsl", "flat" if nd == 1 else "main", "w" + "r" * len(inputs), decls,
               OPS=ops_lib(ops) if ops is not None else "", BODY=body)  # fmt: skip
    per = 1024 if nd == 1 else WG
    n = out.numel
    vm = [(v.storage, v.dtype, shape, strides[i], v.offset) for i, v in enumerate(views)]
    sc = list(scalars) + [0] * (4 - len(scalars))
    for s, e in flat_chunks(client, n, vm, shape):
        words = [e - s, s, nd, *shape, *([1] * (MAX_DIMS - nd))]
        bufs = []
        for st, dt, _, strd, off in vm:
            lo, hi = flat_bounds(shape, strd, off, s, e)
            binding, base = window(client, st, dt, lo, hi)
            bufs.append(binding)
            words += [off - base, *strd, *([0] * (MAX_DIMS - nd))]
        words += [0] * (48 - len(words)) + sc
        launch(client, k, bufs, words, -(-(e - s) // per))


def convert(expr: str, src: DType, dst: DType) -> str:
    """WGSL converting ``expr`` (computed in ctype(src)) to ctype(dst) with the copy semantics."""
    cs, cd = ctype(src), ctype(dst)
    if dst is _dt.bool_:
        zero = "0.0" if cs == "f32" else f"{cs}(0)"
        return f"u32(({expr}) != {zero})"
    if cs == cd:
        return expr
    if cs == "f32":
        if cd == "u32":  # numpy wraps negative floats through int64: go through i32
            return f"bitcast<u32>(i32({expr}))"
        return f"{cd}({expr})"
    if cd == "f32":
        return f"f32({expr})"
    return f"bitcast<{cd}>({expr})"


class WgpuMemory:
    """``_k_copy`` / ``_k_fill`` on strided views (any dtype, packed types via atomics)."""

    def _k_copy(self, src: Tensor, dst: Tensor) -> None:
        run_map(self, f"st_out(o0, {convert('ld_a(o1)', src.dtype, dst.dtype)});", dst, [src])

    def _k_fill(self, dst: Tensor, value: bool | int | float) -> None:
        getter = {"f32": "sf", "i32": "si", "u32": "su"}[ctype(dst.dtype)]
        run_map(self, f"st_out(o0, {getter}(0u));", dst, [], [scalar_word(value, dst.dtype)])
