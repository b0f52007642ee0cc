"""The one dispatch path of the WebGPU backend: pipelines, bind groups, parameters, batching.

Every op records its work with ``Engine.dispatch(kernel, buffers, params, groups)``:

- Pipelines are cached by ``(source hash, entry point, access pattern, constants)``.
- Bind group 0 is one parameter arena bound with a dynamic offset: each dispatch's
  parameters (at most ``PARAM_BYTES`` bytes of u32 words) go into a host-side slot and
  the whole arena is written with ONE ``queue.write_buffer`` per submit (measured:
  ~200-400 us per write, so never one per dispatch). Kernels read it as
  ``@group(0) @binding(0) var<storage, read> P: array<u32, 64>``.
- Bind group 1 holds the data buffers (``(buffer, byte offset, byte size)``, access
  ``r`` read-only or ``w`` read-write per the kernel's ``access`` string); bind groups are
  cached by (layout, buffers, ranges): creating one costs ~30 us.
- Dispatches are recorded into one open compute pass; the batch is submitted when a
  result must be read (download, ``sync``), before a host upload, or after
  ``max_batch`` dispatches.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from ...errors import BackendUnavailable, KernelCompileError
from ...kernels.sources import source_hash

PARAM_BYTES = 256
BIND_GROUP_CACHE = 4096
Binding = tuple[Any, int, int]  # (GPUBuffer, byte offset, byte size)


class Kernel:
    """A compiled compute pipeline and the access pattern of its data bindings."""

    __slots__ = ("access", "bgl", "name", "pipeline")

    def __init__(self, name: str, pipeline: Any, bgl: Any, access: str) -> None:
        self.name = name
        self.pipeline = pipeline
        self.bgl = bgl
        self.access = access


class Engine:
    """Records dispatches for one wgpu device and submits them in batches."""

    def __init__(self, device: Any, max_batch: int = 1024) -> None:
        import wgpu

        self.wgpu = wgpu
        self.device = device
        self.queue = device.queue
        limits = device.limits
        self.align = max(16, int(limits["min-storage-buffer-offset-alignment"]))
        self.slot = -(-PARAM_BYTES // self.align) * self.align
        self.max_batch = max_batch
        self.arena = device.create_buffer(
            size=self.slot * max_batch, usage=wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_DST
        )
        self.arena_host = bytearray(self.slot * max_batch)
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
        self._pipelines: dict[tuple[Any, ...], Kernel] = {}
        self._bind_groups: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._encoder: Any = None
        self._pass: Any = None
        self._n = 0
        self._fence: tuple[Any, Any] | None = None
        self._lock = threading.RLock()
        self.stats = {"dispatches": 0, "submits": 0, "pipelines": 0, "pipeline_hits": 0, "bind_groups": 0}

    # ------------------------------------------------------------ pipelines
    def _layout(self, access: str) -> tuple[Any, Any]:
        got = self._layouts.get(access)
        if got is None:
            stage = self.wgpu.ShaderStage.COMPUTE
            entries = [
                {"binding": i, "visibility": stage, "buffer": {"type": "read-only-storage" if a == "r" else "storage"}}
                for i, a in enumerate(access)
            ]
            bgl = self.device.create_bind_group_layout(entries=entries)
            pl = self.device.create_pipeline_layout(bind_group_layouts=[self.params_bgl, bgl])
            got = self._layouts[access] = (bgl, pl)
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
        try:
            module = self.device.create_shader_module(code=source, label=name)
            compute: dict[str, Any] = {"module": module, "entry_point": entry}
            if consts:
                compute["constants"] = dict(consts)
            pipeline = self.device.create_compute_pipeline(layout=pl, compute=compute, label=name)
        except self.wgpu.GPUError as exc:
            raise KernelCompileError(f"{name}:{entry}", str(exc), source) from exc
        k = self._pipelines[key] = Kernel(name, pipeline, bgl, access)
        self.stats["pipelines"] += 1
        return k

    # ------------------------------------------------------------ recording
    def _bind_group(self, k: Kernel, bufs: Sequence[Binding]) -> Any:
        key = (k.access, *((b.uid, o, s) for b, o, s in bufs))
        bg = self._bind_groups.get(key)
        if bg is not None:
            self._bind_groups.move_to_end(key)
            return bg
        bg = self.device.create_bind_group(
            layout=k.bgl,
            entries=[
                {"binding": i, "resource": {"buffer": b, "offset": o, "size": s}} for i, (b, o, s) in enumerate(bufs)
            ],
        )
        self._bind_groups[key] = bg
        self.stats["bind_groups"] += 1
        if len(self._bind_groups) > BIND_GROUP_CACHE:
            self._bind_groups.popitem(last=False)
        return bg

    def dispatch(self, k: Kernel, bufs: Sequence[Binding], params: bytes, groups: tuple[int, int, int]) -> None:
        """Record one dispatch of ``k`` over ``groups`` workgroups with ``params`` (<= 256 bytes)."""
        if len(params) > PARAM_BYTES:
            raise ValueError(f"{k.name}: {len(params)} parameter bytes exceed {PARAM_BYTES}")
        with self._lock:
            if self._pass is None:
                self._encoder = self.device.create_command_encoder()
                self._pass = self._encoder.begin_compute_pass()
            off = self._n * self.slot
            self.arena_host[off : off + len(params)] = params
            p = self._pass
            p.set_pipeline(k.pipeline)
            p.set_bind_group(0, self.params_bg, [off])
            p.set_bind_group(1, self._bind_group(k, bufs))
            p.dispatch_workgroups(*groups)
            self._n += 1
            self.stats["dispatches"] += 1
            if self._n >= self.max_batch:
                self.flush()

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
                if self._n:
                    self.queue.write_buffer(self.arena, 0, memoryview(self.arena_host)[: self._n * self.slot])
                self.queue.submit([enc.finish()])
            except Exception as exc:
                raise _lost_or(exc) from exc
            finally:
                self._encoder = None
                self._pass = None
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
