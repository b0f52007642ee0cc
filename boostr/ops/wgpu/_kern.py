"""Shared WGSL plumbing for the wgpu hooks: dtype declarations, binding windows, launch.

Every hook builds its kernel with ``kernel(client, relpath, entry, access, decls, **tmpl)``
(rendered from ``boostr/kernels/wgsl`` with ``common/convert.wgsl`` prepended) and
launches through ``launch`` -> ``Engine.dispatch`` (the one dispatch path).

Launch plans: a hook wraps its work in ``planned(client, key, tensors, build)``. The first call
with a given key (op, static arguments, and each tensor's shape / strides / offset / dtype) runs
``build`` while ``launch`` captures what it records: kernel, parameter block, workgroup counts and
which of ``tensors`` (or which static buffer) each binding is. Later calls replay that list with
the new tensors' buffers: no coalescing, window arithmetic, WGSL rendering or parameter packing
in Python, only a bind-group lookup (by buffer identities) and the recording itself. Plans apply
when no buffer exceeds one storage binding (big tensors always take ``build``); a capture that
binds a buffer that is neither one of ``tensors`` nor static (a temporary made inside ``build``)
is not cached.

Buffers larger than ``max-storage-buffer-binding-size`` are bound as windows:
``window`` returns a binding of the byte range holding elements ``[lo, hi)``,
aligned down to ``min-storage-buffer-offset-alignment``, and the element index of
the window's start, which kernels subtract from their offsets.
"""

from __future__ import annotations

import struct
import threading
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

from ... import dtype as _dt
from ...dtype import DType
from ...errors import UnsupportedDType
from ...kernels.sources import read_source, render

PACKED = {_dt.bf16: 2, _dt.fp8_e4m3: 4, _dt.fp8_e5m2: 4, _dt.i8: 4, _dt.u8: 4}
"""Dtypes stored several per u32 word (little-endian: element ``i`` is bits ``[(i % per) * 32 / per, ...)``
of word ``i / per``); the end of a buffer is zero-padded to a whole word."""
WG = 256


def sbytes(dt: DType) -> int:
    """Bytes per stored element (bool is one u32)."""
    return 4 if dt is _dt.bool_ else dt.itemsize


def ctype(dt: DType) -> str:
    """The WGSL type a dtype computes in (floats in f32, i8 in i32, u8 and bool as u32)."""
    if dt.is_float:
        return "f32"
    if dt in (_dt.i32, _dt.i8):
        return "i32"
    if dt in (_dt.u32, _dt.u8, _dt.bool_):
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


# packed dtype -> (decoder of a code, encoder of a ctype value ``v``); convert.wgsl defines them
_CODEC = {
    _dt.bf16: ("bf16_to_f32", "f32_to_bf16(v)"),
    _dt.fp8_e4m3: ("e4m3_to_f32", "f32_to_e4m3(v)"),
    _dt.fp8_e5m2: ("e5m2_to_f32", "f32_to_e5m2(v)"),
    _dt.i8: ("i8_to_i32", "(bitcast<u32>(v) & 0xffu)"),
    _dt.u8: ("", "(v & 0xffu)"),
}


def decl(name: str, binding: int, dt: DType, mode: str = "r") -> str:
    """WGSL for buffer ``name`` at ``@group(1) @binding(binding)`` plus ``ld_<name>(i) -> ctype``
    and, for mode ``w``, ``st_<name>(i, v)`` (packed types store with atomics, one element's bits)."""
    c = ctype(dt)
    acc = "read" if mode == "r" else "read_write"
    if dt in PACKED:
        per = PACKED[dt]
        bits = 32 // per
        mask = (1 << bits) - 1
        dec, enc = _CODEC[dt]
        elem = "atomic<u32>" if mode == "w" else "u32"
        word = f"atomicLoad(&{name}[i / {per}u])" if mode == "w" else f"{name}[i / {per}u]"
        out = [
            f"@group(1) @binding({binding}) var<storage, {acc}> {name}: array<{elem}>;",
            f"fn ld_{name}(i: u32) -> {c} {{ return {dec}(({word} >> ((i % {per}u) * {bits}u)) & {mask}u); }}",
        ]
        if mode == "w":
            out.append(
                f"fn st_{name}(i: u32, v: {c}) {{ let sh = (i % {per}u) * {bits}u; let w = i / {per}u;"
                f" atomicAnd(&{name}[w], ~({mask}u << sh)); atomicOr(&{name}[w], {enc} << sh); }}"
            )
        return "\n".join(out)
    st = "f16" if dt is _dt.f16 else c
    out = [f"@group(1) @binding({binding}) var<storage, {acc}> {name}: array<{st}>;"]
    out.append(f"fn ld_{name}(i: u32) -> {c} {{ return {c}({name}[i]); }}")
    if mode == "w":
        out.append(f"fn st_{name}(i: u32, v: {c}) {{ {name}[i] = {st}(v); }}")
    return "\n".join(out)


VEC_DTYPES = (_dt.f32, _dt.f16)


def decl_v(name: str, binding: int, dt: DType, st: str, vec: bool, mode: str = "r") -> str:
    """Buffer ``name`` seen through ``{name}1(i) -> st`` and ``{name}4(i) -> vec4<st>`` (elements i..i+3;
    with ``vec`` the buffer is an ``array<vec4<..>>`` and i must be a multiple of 4), and for mode ``w``
    ``st_{name}1(i, v: f32)`` / ``st_{name}4(i, v: vec4<f32>)``. Without ``vec`` it wraps ``decl``."""
    if vec:
        t = {_dt.f16: "f16", _dt.i32: "i32", _dt.u32: "u32", _dt.bool_: "u32"}.get(dt, "f32")
        acc = "read" if mode == "r" else "read_write"
        arr = f"{name}_v"
        out = [f"@group(1) @binding({binding}) var<storage, {acc}> {arr}: array<vec4<{t}>>;",
               f"fn {name}4(i: u32) -> vec4<{st}> {{ return vec4<{st}>({arr}[i >> 2u]); }}",
               f"fn {name}1(i: u32) -> {st} {{ return {st}({arr}[i >> 2u][i & 3u]); }}"]  # fmt: skip
        if mode == "w":
            out.append(f"fn st_{name}4(i: u32, v: vec4<f32>) {{ {arr}[i >> 2u] = vec4<{t}>(v); }}")
            out.append(f"fn st_{name}1(i: u32, v: f32) {{ {arr}[i >> 2u][i & 3u] = {t}(v); }}")
        return "\n".join(out)
    ld = f"ld_{name}"
    out = [decl(name, binding, dt, mode), f"fn {name}1(i: u32) -> {st} {{ return {st}({ld}(i)); }}",
           f"fn {name}4(i: u32) -> vec4<{st}> {{ return vec4<{st}>({st}({ld}(i)), {st}({ld}(i + 1u)), "
           f"{st}({ld}(i + 2u)), {st}({ld}(i + 3u))); }}"]  # fmt: skip
    if mode == "w":
        out.append(f"fn st_{name}1(i: u32, v: f32) {{ st_{name}(i, v); }}")
        out.append(f"fn st_{name}4(i: u32, v: vec4<f32>) {{ for (var j = 0u; j < 4u; j = j + 1u) "
                   f"{{ st_{name}(i + j, v[j]); }} }}")  # fmt: skip
    return "\n".join(out)


def aligned4(t: Any, *strides: int, ints: bool = False) -> bool:
    """Whether ``t`` can be read as vec4 along a unit-stride dim: a vec4-capable dtype (f32, f16; with
    ``ints`` also i32, u32, bool), offset and the given other strides multiples of 4 (a stride of a dim
    of size 1 may be passed as 0)."""
    ok = t.dtype in VEC_DTYPES or (ints and t.dtype in (_dt.i32, _dt.u32, _dt.bool_))
    return ok and t.offset % 4 == 0 and all(s % 4 == 0 for s in strides)


def sg_tmpl(client: Any) -> dict[str, str]:
    """Template values wiring the workgroup-reduction helpers: ``SGB`` (extra entry-point builtins),
    ``SGI`` (statement storing them) and ``WGSUM`` (``common/wg_sum_sg.wgsl`` when the adapter has
    subgroups, else ``common/wg_sum_tree.wgsl``)."""
    if getattr(client, "has_subgroups", False):
        return {
            "SGB": ", @builtin(subgroup_invocation_id) sgl_in: u32, @builtin(subgroup_id) sgi_in: u32, "
            "@builtin(num_subgroups) sgn_in: u32, @builtin(subgroup_size) sgs_in: u32",
            "SGI": "sg_lane = sgl_in; sg_id = sgi_in; sg_n = sgn_in; sg_size = sgs_in;",
            "WGSUM": read_source("wgsl/common/wg_sum_sg.wgsl"),
        }
    return {"SGB": "", "SGI": "", "WGSUM": read_source("wgsl/common/wg_sum_tree.wgsl")}


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
    params = array("I", [w & 0xFFFFFFFF for w in words]).tobytes()
    client.engine.dispatch(k, bufs, params, g)
    caps = getattr(client, "_capture", None)
    if caps:  # a launch plan is being captured (by this thread?)
        cap = caps.get(threading.get_ident())
        if cap is not None:
            cap.append((k, tuple(bufs), params, g))


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


PLAN_CACHE = 8192


def meta(t: Any) -> tuple[Any, ...]:
    """The part of a tensor a launch plan depends on (its buffer is bound at replay)."""
    return (t.shape, t.strides, t.offset, t.dtype.name)


def static_buffer(client: Any, storage: Any) -> None:
    """Declare ``storage`` (a persistent helper buffer, e.g. an unused-binding dummy) bindable by plans."""
    client.__dict__.setdefault("_static", {})[id(storage.buffer)] = storage.buffer


class _Step:
    __slots__ = ("gen", "groups", "k", "params", "poff", "slots")

    def __init__(self, k: Any, slots: tuple[Any, ...], params: bytes, groups: tuple[int, int, int]) -> None:
        self.k, self.slots, self.params, self.groups = k, slots, params, groups
        self.poff = 0
        self.gen = -1


class Plan:
    """Recorded launches of one op for one key; ``alias`` is the buffer-sharing pattern it needs, if any."""

    __slots__ = ("alias", "steps")

    def __init__(self, steps: list[_Step], alias: tuple[int, ...] | None) -> None:
        self.steps = steps
        self.alias = alias


def _alias(bufs: Sequence[Any]) -> tuple[int, ...]:
    ids = [id(b) for b in bufs]
    return tuple(ids.index(i) for i in ids)


def planned(client: Any, key: tuple[Any, ...], tensors: Sequence[Any], build: Any) -> None:
    """Run ``build`` (which records launches for ``tensors``) through the launch plan cached for ``key``."""
    bufs = []
    for t in tensors:
        st = t.storage
        if st.big:
            build()
            return
        bufs.append(st.buffer)
    plan = client._plans.get(key)
    if plan is not None:
        if plan.alias is None or plan.alias == _alias(bufs):
            eng = client.engine
            for s in plan.steps:
                bgs = eng.bind_whole(s.k, [bufs[i] if i.__class__ is int else i for i in s.slots])
                if s.gen != eng.generation:
                    s.poff = eng.param_offset(s.params)
                    s.gen = eng.generation
                eng.record(s.k.pipeline, bgs, s.poff, s.groups)
            return
        build()
        return
    tid = threading.get_ident()
    if tid in client._capture:  # inside another op's build: that op's plan captures these launches
        build()
        return
    cap: list[Any] = []
    client._capture[tid] = cap
    try:
        build()
    finally:
        del client._capture[tid]
    plan = _compile(client, cap, bufs)
    if plan is not None:
        if len(client._plans) >= PLAN_CACHE:
            client._plans.clear()
        client._plans[key] = plan


def _compile(client: Any, cap: list[Any], bufs: list[Any]) -> Plan | None:
    where: dict[int, int] = {}
    for i, b in enumerate(bufs):
        where.setdefault(id(b), i)
    static = client.__dict__.get("_static", {})
    steps = []
    for k, binds, params, groups in cap:
        slots: list[Any] = []
        for b, off, size in binds:
            if off != 0 or size != b.size:
                return None
            slot = where.get(id(b))
            if slot is None:
                if id(b) not in static:
                    return None  # a temporary of this call: nothing to bind it to next time
                slots.append(b)
            else:
                slots.append(slot)
        steps.append(_Step(k, tuple(slots), params, groups))
    return Plan(steps, _alias(bufs) if len(where) < len(bufs) else None)
