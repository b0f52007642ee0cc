"""Shared WGSL plumbing for the wgpu hooks: dtype declarations, binding windows, launch.

Every hook builds its kernel with ``kernel(client, relpath, entry, access, decls, **tmpl)``
(rendered from ``boostr/kernels/wgsl`` with ``common/convert.wgsl`` prepended) and
launches through ``launch`` -> ``Engine.dispatch`` (the one dispatch path).

Buffers larger than ``max-storage-buffer-binding-size`` are bound as windows:
``window`` returns a binding of the byte range holding elements ``[lo, hi)``,
aligned down to ``min-storage-buffer-offset-alignment``, and the element index of
the window's start, which kernels subtract from their offsets.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

from ... import dtype as _dt
from ...dtype import DType
from ...errors import UnsupportedDType
from ...kernels.sources import read_source, render

PACKED = {_dt.bf16: 2, _dt.fp8_e4m3: 4, _dt.fp8_e5m2: 4}
WG = 256


def sbytes(dt: DType) -> int:
    """Bytes per stored element (bool is one u32)."""
    return 4 if dt is _dt.bool_ else dt.itemsize


def ctype(dt: DType) -> str:
    """The WGSL type a dtype computes in (floats in f32, bool as u32 0/1)."""
    if dt.is_float:
        return "f32"
    if dt is _dt.i32:
        return "i32"
    if dt in (_dt.u32, _dt.bool_):
        return "u32"
    raise UnsupportedDType("wgpu kernel", dt, "wgpu")


def nan_test(dt: DType) -> str:
    """WGSL testing ``x`` (of ``ctype(dt)``) for NaN (``false`` for integer types)."""
    return "isnan_f(x)" if ctype(dt) == "f32" else "false"


def scalar_word(value: bool | int | float, dt: DType) -> int:
    """The u32 bit pattern of a scalar in ``ctype(dt)``."""
    c = ctype(dt)
    if c == "f32":
        return struct.unpack("<I", struct.pack("<f", float(value)))[0]
    return int(value) & 0xFFFFFFFF


def f32_word(value: float) -> int:
    return struct.unpack("<I", struct.pack("<f", float(value)))[0]


_DECODE = {
    _dt.bf16: "bf16_to_f32((B[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu)",
    _dt.fp8_e4m3: "e4m3_to_f32((B[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu)",
    _dt.fp8_e5m2: "e5m2_to_f32((B[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu)",
}
_ENCODE = {_dt.bf16: "f32_to_bf16(v)", _dt.fp8_e4m3: "f32_to_e4m3(v)", _dt.fp8_e5m2: "f32_to_e5m2(v)"}


def decl(name: str, binding: int, dt: DType, mode: str = "r") -> str:
    """WGSL for buffer ``name`` at ``@group(1) @binding(binding)`` plus ``ld_<name>(i) -> ctype``
    and, for mode ``w``, ``st_<name>(i, v)`` (packed types store with atomics, one element's bits)."""
    c = ctype(dt)
    acc = "read" if mode == "r" else "read_write"
    if dt in PACKED:
        per = PACKED[dt]
        bits = 32 // per
        elem = "atomic<u32>" if mode == "w" else "u32"
        out = [f"@group(1) @binding({binding}) var<storage, {acc}> {name}: array<{elem}>;"]
        if mode == "r":
            out.append(f"fn ld_{name}(i: u32) -> f32 {{ return {_DECODE[dt].replace('B[', name + '[')}; }}")
        else:
            mask = (1 << bits) - 1
            code = f"(atomicLoad(&{name}[i / {per}u]) >> ((i % {per}u) * {bits}u)) & {mask}u"
            dec = {_dt.bf16: "bf16_to_f32", _dt.fp8_e4m3: "e4m3_to_f32", _dt.fp8_e5m2: "e5m2_to_f32"}[dt]
            out.append(f"fn ld_{name}(i: u32) -> f32 {{ return {dec}({code}); }}")
            out.append(
                f"fn st_{name}(i: u32, v: f32) {{ let sh = (i % {per}u) * {bits}u; let w = i / {per}u;"
                f" atomicAnd(&{name}[w], ~({mask}u << sh)); atomicOr(&{name}[w], {_ENCODE[dt]} << sh); }}"
            )
        return "\n".join(out)
    st = "f16" if dt is _dt.f16 else c
    out = [f"@group(1) @binding({binding}) var<storage, {acc}> {name}: array<{st}>;"]
    out.append(f"fn ld_{name}(i: u32) -> {c} {{ return {c}({name}[i]); }}")
    if mode == "w":
        out.append(f"fn st_{name}(i: u32, v: {c}) {{ {name}[i] = {st}(v); }}")
    return "\n".join(out)


def kernel(client: Any, relpath: str, entry: str, access: str, decls: str = "", **tmpl: object) -> Any:
    """The cached pipeline for ``relpath``'s ``entry`` rendered with ``DECLS`` and ``tmpl``."""
    key = (relpath, entry, access, decls, tuple(sorted(tmpl.items())))
    k = client._kernels.get(key)
    if k is None:
        enable = "enable f16;\n" if client.has_f16 else ""
        body = render(relpath, DECLS=decls, **tmpl)
        source = enable + read_source("wgsl/common/convert.wgsl") + "\n" + body
        k = client._kernels[key] = client.engine.kernel(relpath, source, entry, access)
    return k


def window(client: Any, storage: Any, dt: DType, lo: int, hi: int) -> tuple[tuple[Any, int, int], int]:
    """Binding for elements ``[lo, hi)`` of ``storage`` and the element index the binding starts at."""
    buf = storage.buffer
    if buf.size <= client.max_binding:
        return (buf, 0, buf.size), 0
    sb = sbytes(dt)
    b0 = (lo * sb) // client.align * client.align
    b1 = min(buf.size, max(b0 + 4, (hi * sb + 3) // 4 * 4))
    return (buf, b0, b1 - b0), b0 // sb


def fits(client: Any, storage: Any, dt: DType, lo: int, hi: int) -> bool:
    """Whether elements ``[lo, hi)`` fit one binding window."""
    if storage.buffer.size <= client.max_binding:
        return True
    sb = sbytes(dt)
    return (hi * sb + 3) // 4 * 4 - (lo * sb) // client.align * client.align <= client.max_binding


def flat_bounds(shape: Sequence[int], strides: Sequence[int], offset: int, s: int, e: int) -> tuple[int, int]:
    """Elements ``[lo, hi)`` a view touches for flat (row-major) indices ``[s, e)`` (conservative)."""
    if e <= s:
        return offset, offset + 1
    a, b = _unravel(s, shape), _unravel(e - 1, shape)
    lo = hi = offset
    d = 0
    while d < len(shape) and a[d] == b[d]:
        lo += a[d] * strides[d]
        d += 1
    hi = lo
    if d < len(shape):
        lo += a[d] * strides[d]
        hi += b[d] * strides[d]
        for k in range(d + 1, len(shape)):
            hi += (shape[k] - 1) * strides[k]
    return lo, hi + 1


def _unravel(i: int, shape: Sequence[int]) -> list[int]:
    out = [0] * len(shape)
    for d in range(len(shape) - 1, -1, -1):
        out[d] = i % shape[d]
        i //= shape[d]
    return out


def coalesce(shape: Sequence[int], strides: Sequence[Sequence[int]]) -> tuple[list[int], list[list[int]]]:
    """Drop size-1 dims and merge dims that are contiguous in every view (same flat order)."""
    dims = [d for d in range(len(shape)) if shape[d] != 1]
    out_shape: list[int] = []
    out_strides: list[list[int]] = [[] for _ in strides]
    for d in dims:
        if out_shape and all(st[-1] == s[d] * shape[d] for st, s in zip(out_strides, strides)):
            out_shape[-1] *= shape[d]
            for st, s in zip(out_strides, strides):
                st[-1] = s[d]
            continue
        out_shape.append(shape[d])
        for st, s in zip(out_strides, strides):
            st.append(s[d])
    if not out_shape:
        return [1], [[0] for _ in strides]
    return out_shape, out_strides


def flat_chunks(client: Any, n: int, views: Sequence[tuple[Any, DType, Sequence[int], Sequence[int], int]],
                shape: Sequence[int]) -> Iterator[tuple[int, int]]:  # fmt: skip
    """Split flat range ``[0, n)`` so every view's touched elements fit one binding window."""
    if all(st.buffer.size <= client.max_binding for st, *_ in views):
        yield 0, n
        return
    s = 0
    size = n
    while s < n:
        e = min(n, s + size)
        ok = all(fits(client, st, dt, *flat_bounds(shape, strd, off, s, e)) for st, dt, _, strd, off in views)
        if ok or e - s <= 1:
            yield s, e
            s = e
        else:
            size = max(1, (e - s) // 2)


def grid(n_groups: int, limit: int = 65535) -> tuple[int, int, int]:
    """A 2-D workgroup grid covering ``n_groups`` (kernels linearize ``x + y * nwg.x``)."""
    n_groups = max(1, n_groups)
    if n_groups <= limit:
        return (n_groups, 1, 1)
    y = -(-n_groups // limit)
    return (-(-n_groups // y), y, 1)


def launch(client: Any, k: Any, bufs: Sequence[tuple[Any, int, int]], words: Sequence[int],
           groups: int | tuple[int, int, int]) -> None:  # fmt: skip
    """Record ``k`` over ``groups`` workgroups with ``words`` as u32 parameters (taken mod 2**32: offsets
    relative to a window may be negative and wrap back when the kernel adds its indices)."""
    g = grid(groups) if isinstance(groups, int) else groups
    client.engine.dispatch(k, bufs, array("I", [w & 0xFFFFFFFF for w in words]).tobytes(), g)


def range_chunks(client: Any, total: int, ranges: Any) -> Iterator[tuple[int, int]]:
    """Split ``[0, total)`` work items so ``ranges(g0, g1)`` -> ``[(storage, dtype, lo, hi)]`` all fit a window."""
    s = 0
    size = total
    while s < total:
        e = min(total, s + size)
        if e - s <= 1 or all(fits(client, st, dt, lo, hi) for st, dt, lo, hi in ranges(s, e)):
            yield s, e
            s = e
        else:
            size = max(1, (e - s) // 2)


def bind(client: Any, st: Any, dt: DType, lo: int, hi: int) -> tuple[tuple[Any, int, int], int]:
    """``window`` for elements ``[lo, hi)`` (alias kept short for the hook modules)."""
    return window(client, st, dt, lo, hi)
