"""The one dispatch path of the WebGPU backend: pipelines, bind groups, parameters, batching.

Every op records its work through ``Engine.record(pipeline, bind_groups, param_offset, groups)``;
``Engine.dispatch(kernel, buffers, params, groups)`` is the same with the bind groups and the
parameter slot looked up for you (the original signature, kept for every caller). Hooks reach it
through launch plans (``ops/wgpu/_kern.py``: ``planned``), which replay ``record`` calls.

- Pipelines are cached by ``(source hash, entry point, access pattern, constants)``.
- Bind group 0 is one parameter arena bound with a dynamic offset. Parameter blocks (at most
  ``PARAM_BYTES`` bytes of u32 words) are interned: a block seen before reuses its arena slot,
  a new one is appended to the host mirror, and only the new bytes are uploaded, with ONE
  ``queue.write_buffer`` per submit (measured ~200-400 us per write on an H200, so never one
  per dispatch). A decode loop that repeats the same shapes writes nothing at all. When the
  arena is full, the batch is submitted and the arena starts over (``generation`` + 1, which
  invalidates offsets cached by launch plans). Kernels read it as
  ``@group(0) @binding(0) var<storage, read> P: array<u32, 64>``.
- Data buffers (``(buffer, byte offset, byte size)``, access ``r`` read-only or ``w``
  read-write per the kernel's ``access`` string) get ONE BIND GROUP EACH: a kernel with n <=
  ``max-bind-groups`` - 1 data bindings has the pipeline layout ``[params, buf0, buf1, ...]``
  and its WGSL ``@group(1) @binding(i)`` lines are rewritten to ``@group(1 + i) @binding(0)``
  at compile time (sources keep the one-group spelling). A buffer's bind group is created once
  per (buffer, range, access) and reused by every later dispatch that binds it, whatever the
  other buffers are: caching whole-dispatch bind groups missed constantly in a decode loop,
  where pooled outputs rotate through buffers (17-60 new groups per 68 ops, ~15-30 us each).
  Kernels with more bindings keep one group for all (cached by all identities and ranges).
  The caches keep their buffers alive, so an ``id`` in a key cannot be reused meanwhile.
- Dispatches are recorded into one open compute pass (pipeline, parameter offset and each
  group are only set when they change), through wgpu-native's C functions directly when
  wgpu-py exposes them (``_Raw``; ``BOOSTR_WGPU_RAW=0`` uses wgpu-py's methods): its wrappers
  add error capture, a cffi offsets array and a keep-alive list per call (~1-1.5 us each, and a
  decode op makes 3-5 such calls). Recording errors still surface when the pass ends.
- The batch is submitted when a result must be read (download, ``sync``), before a host
  upload, or after ``max_batch`` dispatches.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from typing import Any

from ...errors import BackendUnavailable, KernelCompileError
from ...kernels.sources import source_hash

PARAM_BYTES = 256
ARENA_BYTES = 1 << 21
BIND_GROUP_CACHE = 8192
Binding = tuple[Any, int, int]  # (GPUBuffer, byte offset, byte size)
_GROUP1 = re.compile(r"@group\(\s*1\s*\)\s*@binding\(\s*(\d+)\s*\)")


class Kernel:
    """A compiled compute pipeline and the access pattern of its data bindings (``split``: a group each)."""

    __slots__ = ("access", "bgl", "name", "pipeline", "split")

    def __init__(self, name: str, pipeline: Any, bgl: Any, access: str, split: bool = False) -> None:
        self.name = name
        self.pipeline = pipeline
        self.bgl = bgl
        self.access = access
        self.split = split


class _Raw:
    """wgpu-native's compute-pass recording functions, called without wgpu-py's per-call wrapper.

    The open pass's bind groups are kept alive by ``Engine._alive`` until the pass ends (what
    wgpu-py's ``_maybe_keep_alive`` would do); pipelines live in the engine's cache.
    """

    def __init__(self) -> None:
        from wgpu.backends.wgpu_native import _api

        lib, ffi = _api.lib, _api.ffi
        self.pipeline = lib.wgpuComputePassEncoderSetPipeline
        self.group = lib.wgpuComputePassEncoderSetBindGroup
        self.dispatch = lib.wgpuComputePassEncoderDispatchWorkgroups
        self.null = ffi.NULL
        self.offset = ffi.new("uint32_t[1]")


def _raw() -> _Raw | None:
    if os.environ.get("BOOSTR_WGPU_RAW", "1") == "0":
        return None
    try:
        return _Raw()
    except Exception:  # another wgpu-py layout: use its public methods
        return None


class Engine:
    """Records dispatches for one wgpu device and submits them in batches."""

    def __init__(self, device: Any, max_batch: int = 2048, arena_bytes: int = ARENA_BYTES) -> None:
        import wgpu

        self.wgpu = wgpu
        self.device = device
        self.queue = device.queue
        self.align = max(16, int(device.limits["min-storage-buffer-offset-alignment"]))
        # data bindings that get a group each (wgpu caps bind groups at 8: the params group plus 7)
        self.max_split = min(int(device.limits["max-bind-groups"]), 8) - 1
        self.max_batch = max_batch
        self.capacity = arena_bytes
        self.arena = device.create_buffer(
            size=arena_bytes + PARAM_BYTES, usage=wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_DST
        )
        self.arena_host = bytearray(arena_bytes + PARAM_BYTES)
        self._slots: dict[bytes, int] = {}  # parameter block -> its byte offset in the arena
        self._top = 0  # first free arena byte
        self._dirty = arena_bytes  # lowest arena byte written since the last upload
        self.generation = 0
        stage = wgpu.ShaderStage.COMPUTE
        self.params_bgl = device.create_bind_group_layout(
            entries=[
                {
                    "binding": 0,
                    "visibility": stage,
                    "buffer": {
                        "type": "read-only-storage",
                        "has_dynamic_offset": True,
                        "min_binding_size": PARAM_BYTES,
                    },
                }
            ]
        )
        self.params_bg = device.create_bind_group(
            layout=self.params_bgl,
            entries=[{"binding": 0, "resource": {"buffer": self.arena, "offset": 0, "size": PARAM_BYTES}}],
        )
        self._layouts: dict[str, tuple[Any, Any]] = {}
        self._one: dict[str, Any] = {}  # access char -> layout of a single-buffer group
        self._pipelines: dict[tuple[Any, ...], Kernel] = {}
        self._bind_groups: dict[tuple[Any, ...], tuple[Any, Any]] = {}
        self._encoder: Any = None
        self._pass: Any = None
        # pipeline, params offset, then the group set at 1, 2, ... in the open pass
        self._last: list[Any] = [None] * (self.max_split + 3)
        self._n = 0
        self._raw = _raw()
        self._alive: list[Any] = []  # bind groups recorded into the open pass
        self._fence: tuple[Any, Any] | None = None
        self._lock = threading.RLock()
        self.stats = {"dispatches": 0, "submits": 0, "pipelines": 0, "pipeline_hits": 0, "bind_groups": 0,
                      "param_blocks": 0, "param_bytes_written": 0}  # fmt: skip

    # ------------------------------------------------------------ pipelines
    def _entries(self, access: str) -> list[dict[str, Any]]:
        stage = self.wgpu.ShaderStage.COMPUTE
        return [
            {"binding": i, "visibility": stage, "buffer": {"type": "read-only-storage" if a == "r" else "storage"}}
            for i, a in enumerate(access)
        ]

    def _layout(self, access: str) -> tuple[Any, Any]:
        """``(group-1 layout or None when split, pipeline layout)`` for a data access pattern."""
        got = self._layouts.get(access)
        if got is None:
            if len(access) <= self.max_split:
                for a in access:
                    if a not in self._one:
                        self._one[a] = self.device.create_bind_group_layout(entries=self._entries(a))
                layouts = [self.params_bgl, *[self._one[a] for a in access]]
                got = (None, self.device.create_pipeline_layout(bind_group_layouts=layouts))
            else:
                bgl = self.device.create_bind_group_layout(entries=self._entries(access))
                got = (bgl, self.device.create_pipeline_layout(bind_group_layouts=[self.params_bgl, bgl]))
            self._layouts[access] = got
        return got

    def kernel(
        self, name: str, source: str, entry: str, access: str, constants: dict[str, Any] | None = None
    ) -> Kernel:
        """The pipeline for ``entry`` of the WGSL ``source`` (compiled once per hash/entry/constants)."""
        consts = tuple(sorted((constants or {}).items()))
        key = (source_hash(source), entry, access, consts)
        k = self._pipelines.get(key)
        if k is not None:
            self.stats["pipeline_hits"] += 1
            return k
        bgl, pl = self._layout(access)
        if bgl is None:  # one group per data binding: @group(1) @binding(i) -> @group(1 + i) @binding(0)
            source = _GROUP1.sub(lambda m: f"@group({1 + int(m.group(1))}) @binding(0)", source)
        try:
            module = self.device.create_shader_module(code=source, label=name)
            compute: dict[str, Any] = {"module": module, "entry_point": entry}
            if consts:
                compute["constants"] = dict(consts)
            pipeline = self.device.create_compute_pipeline(layout=pl, compute=compute, label=name)
        except self.wgpu.GPUError as exc:
            raise KernelCompileError(f"{name}:{entry}", str(exc), source) from exc
        k = self._pipelines[key] = Kernel(name, pipeline, bgl, access, bgl is None)
        self.stats["pipelines"] += 1
        return k

    # ------------------------------------------------------------ parameters
    def param_offset(self, params: bytes) -> int:
        """The arena byte offset holding ``params`` (interned: an identical block reuses its slot)."""
        off = self._slots.get(params)
        if off is not None:
            return off
        n = len(params)
        if n > PARAM_BYTES:
            raise ValueError(f"{n} parameter bytes exceed {PARAM_BYTES}")
        with self._lock:
            if self._top + n > self.capacity:  # full: submit what reads the arena, then start over
                self.flush()
                self._slots.clear()
                self._top = 0
                self.generation += 1
            off = self._top
            self.arena_host[off : off + n] = params
            self._top = off + max(self.align, -(-n // self.align) * self.align)
            self._dirty = min(self._dirty, off)
            self._slots[params] = off
            self.stats["param_blocks"] += 1
        return off

    # ------------------------------------------------------------ bind groups
    def bind_groups(self, k: Kernel, bufs: Sequence[Binding]) -> list[Any]:
        """The (cached) bind groups of ``k``'s data bindings ``(buffer, byte offset, byte size)``."""
        if k.split:
            return [self.bind_one(b, o, s, a) for (b, o, s), a in zip(bufs, k.access, strict=True)]
        key = (id(k.bgl), *[(id(b), o, s) for b, o, s in bufs])
        got = self._bind_groups.get(key)
        if got is not None:
            return [got[0]]
        entries = [
            {"binding": i, "resource": {"buffer": b, "offset": o, "size": s}} for i, (b, o, s) in enumerate(bufs)
        ]
        return [self._new_bind_group(key, k.bgl, entries, bufs)]

    def bind_one(self, b: Any, off: int, size: int, access: str) -> Any:
        """The (cached) single-buffer bind group of bytes ``[off, off + size)`` of ``b`` (access ``r``/``w``)."""
        key = (id(b), off, -1 if off == 0 and size == b.size else size, access)
        got = self._bind_groups.get(key)
        if got is not None:
            return got[0]
        entries = [{"binding": 0, "resource": {"buffer": b, "offset": off, "size": size}}]
        return self._new_bind_group(key, self._one[access], entries, (b,))

    def bind_whole(self, k: Kernel, bufs: Sequence[Any]) -> list[Any]:
        """``bind_groups`` with each buffer of ``bufs`` bound whole (the replay path of launch plans)."""
        if not k.split:
            return self.bind_groups(k, [(b, 0, b.size) for b in bufs])
        out = []
        get = self._bind_groups.get
        for b, a in zip(bufs, k.access):
            got = get((id(b), 0, -1, a))
            if got is None:
                entries = [{"binding": 0, "resource": {"buffer": b, "offset": 0, "size": b.size}}]
                out.append(self._new_bind_group((id(b), 0, -1, a), self._one[a], entries, (b,)))
            else:
                out.append(got[0])
        return out

    def _new_bind_group(self, key: tuple[Any, ...], layout: Any, entries: list[Any], keep: Any) -> Any:
        bg = self.device.create_bind_group(layout=layout, entries=entries)
        if len(self._bind_groups) >= BIND_GROUP_CACHE:
            self._bind_groups.clear()
        self._bind_groups[key] = (bg, tuple(keep))  # the buffers stay alive while their ids are keys
        self.stats["bind_groups"] += 1
        return bg

    def clear_bind_groups(self) -> None:
        """Forget cached bind groups (and the buffers they keep alive)."""
        self._bind_groups.clear()

    # ------------------------------------------------------------ recording
    def record(self, pipeline: Any, bgs: Sequence[Any], poff: int, groups: tuple[int, int, int]) -> None:
        """Record one dispatch: ``pipeline`` with data bind groups ``bgs`` (groups 1, 2, ...) and the
        parameter block at arena offset ``poff``."""
        with self._lock:
            p = self._pass
            last = self._last
            if p is None:
                self._encoder = self.device.create_command_encoder()
                p = self._pass = self._encoder.begin_compute_pass()
                last[:] = [None] * len(last)
            raw = self._raw
            if raw is None:
                self._record_api(p, pipeline, bgs, poff, groups)
            else:
                h = p._internal
                if last[0] is not pipeline:
                    raw.pipeline(h, pipeline._internal)
                    last[0] = pipeline
                if last[1] != poff:
                    raw.offset[0] = poff
                    raw.group(h, 0, self.params_bg._internal, 1, raw.offset)
                    last[1] = poff
                i = 2
                for bg in bgs:
                    if last[i] is not bg:
                        raw.group(h, i - 1, bg._internal, 0, raw.null)
                        self._alive.append(bg)
                        last[i] = bg
                    i += 1
                raw.dispatch(h, *groups)
            self._n += 1
            if self._n >= self.max_batch:
                self.flush()

    def _record_api(self, p: Any, pipeline: Any, bgs: Sequence[Any], poff: int, groups: tuple[int, int, int]) -> None:
        last = self._last
        if last[0] is not pipeline:
            p.set_pipeline(pipeline)
            last[0] = pipeline
        if last[1] != poff:
            p.set_bind_group(0, self.params_bg, (poff,))
            last[1] = poff
        i = 2
        for bg in bgs:
            if last[i] is not bg:
                p.set_bind_group(i - 1, bg)
                last[i] = bg
            i += 1
        p.dispatch_workgroups(*groups)

    def dispatch(self, k: Kernel, bufs: Sequence[Binding], params: bytes, groups: tuple[int, int, int]) -> None:
        """Record one dispatch of ``k`` over ``groups`` workgroups with ``params`` (<= 256 bytes)."""
        if len(params) > PARAM_BYTES:
            raise ValueError(f"{k.name}: {len(params)} parameter bytes exceed {PARAM_BYTES}")
        poff = self.param_offset(bytes(params))
        self.record(k.pipeline, self.bind_groups(k, bufs), poff, groups)

    @property
    def pending(self) -> int:
        """Dispatches recorded and not yet submitted."""
        return self._n

    def flush(self, copy: tuple[Any, int, Any, int] | None = None) -> None:
        """Submit the recorded batch (and an optional ``(src, src_off, dst, size)`` buffer copy after it)."""
        with self._lock:
            if self._pass is None and copy is None:
                return
            enc = self._encoder or self.device.create_command_encoder()
            if self._pass is not None:
                self._pass.end()
            if copy is not None:
                src, off, dst, size = copy
                enc.copy_buffer_to_buffer(src, off, dst, 0, size)
            try:
                if self._dirty < self._top:
                    lo = self._dirty
                    self.queue.write_buffer(self.arena, lo, memoryview(self.arena_host)[lo : self._top])
                    self.stats["param_bytes_written"] += self._top - lo
                    self._dirty = self.capacity
                self.queue.submit([enc.finish()])
            except Exception as exc:
                raise _lost_or(exc) from exc
            finally:
                self._encoder = None
                self._pass = None
                self._alive.clear()
                self.stats["dispatches"] += self._n
                self._n = 0
            self.stats["submits"] += 1

    def read(self, buffer: Any, offset: int, size: int, staging: Any) -> bytes:
        """Submit pending work, copy ``size`` bytes of ``buffer`` at ``offset`` to ``staging`` and map it."""
        self.flush(copy=(buffer, offset, staging, size))
        try:
            staging.map_sync(self.wgpu.MapMode.READ, 0, size)
            data = staging.read_mapped(0, size, copy=True)
            staging.unmap()
        except Exception as exc:
            raise _lost_or(exc) from exc
        return bytes(data)

    def wait(self) -> None:
        """Submit pending work and wait until the device finished it (a 4-byte readback fence:
        ``queue.on_submitted_work_done_sync`` is broken in wgpu-py 0.32)."""
        if self._fence is None:
            usage = self.wgpu.BufferUsage
            self._fence = (
                self.device.create_buffer(size=16, usage=usage.STORAGE | usage.COPY_SRC),
                self.device.create_buffer(size=16, usage=usage.MAP_READ | usage.COPY_DST),
            )
        self.read(self._fence[0], 0, 4, self._fence[1])


def _lost_or(exc: Exception) -> Exception:
    msg = str(exc)
    if "lost" in msg.lower() or "device is invalid" in msg.lower():
        return BackendUnavailable("wgpu", f"the device was lost: {msg}")
    return exc
