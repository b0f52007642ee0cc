"""WgpuClient: storage is a pooled wgpu buffer (``WgpuStorage``); ops are WGSL kernels.

Storage layouts (little-endian, element ``i`` of a buffer):
f32 / i32 / u32: 4 bytes; bool: one u32 (0 or 1) per element; f16: 2 bytes
(``array<f16>``, needs the adapter's ``shader-f16``); bf16: 2 bytes, two per u32
word; fp8 e4m3 / e5m2, i8, u8: 1 byte, four per u32 word (byte ``i % 4`` of word
``i // 4``; uploads zero-pad the last word, kernels never read past the end). bf16 and fp8 are converted in the shader
and computed in f32; i8 computes in i32 and u8 in u32, every store keeping the low
byte (so arithmetic wraps modulo 256 like numpy). Packed elements are written with
an atomic and/or pair on their word, so neighbours never clobber each other.
f64, i64 and i16 are not storage types here: ``from_numpy`` of an int64 array
range-checks it and uploads i32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import dtype as _dt
from ...dtype import DType
from ...errors import InvalidArgument, UnsupportedDType
from ...ops.wgpu import WGPU_HOOKS
from ...ops.wgpu._kern import sbytes
from ...tensor import Tensor
from ..client import ClientBase
from .buffers import BufferPool
from .device import adapter_name, open_device
from .engine import Engine

_I32 = np.iinfo(np.int32)


class WgpuClient(ClientBase, *WGPU_HOOKS):  # type: ignore[misc]
    """The WebGPU backend on one adapter (``mask_features`` hides adapter features, for tests)."""

    kind = "wgpu"
    # the most an adapter offers (f16 needs shader-f16); __init__ narrows these per adapter
    compute_dtypes = frozenset({_dt.f32, _dt.f16, _dt.bf16, _dt.i32, _dt.u32, _dt.i8, _dt.u8, _dt.bool_})
    storage_dtypes = compute_dtypes | {_dt.fp8_e4m3, _dt.fp8_e5m2}
    default_int = _dt.i32
    quant_byte_dtype = _dt.u32
    """QuantTensor block bytes live in u32 words here (the WGSL quant kernels address words)."""
    index_dtypes = frozenset({_dt.i32})

    def __init__(self, index: int = 0, mask_features: frozenset[str] = frozenset()) -> None:
        super().__init__(index)
        import wgpu

        self.adapter, self.device, self.features = open_device(index, frozenset(mask_features))
        self.limits: dict[str, int] = {k: int(v) for k, v in dict(self.device.limits).items()}
        self.max_binding = min(self.limits["max-storage-buffer-binding-size"], self.limits["max-buffer-size"])
        self.align = max(16, self.limits["min-storage-buffer-offset-alignment"])
        self.has_f16 = "shader-f16" in self.features
        self.has_subgroups = "subgroup" in self.features
        base = {_dt.f32, _dt.bf16, _dt.i32, _dt.u32, _dt.i8, _dt.u8, _dt.bool_}
        if self.has_f16:
            base.add(_dt.f16)
        self.compute_dtypes = frozenset(base)
        self.storage_dtypes = frozenset(base | {_dt.fp8_e4m3, _dt.fp8_e5m2})
        usage = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST
        self.pool = BufferPool(self.device, usage, self.limits["max-buffer-size"], self.max_binding)
        self.staging = BufferPool(self.device, wgpu.BufferUsage.MAP_READ | wgpu.BufferUsage.COPY_DST, 1 << 62)
        self.engine = Engine(self.device)
        self.pool.on_trim = self.engine.clear_bind_groups
        self._kernels: dict[tuple[Any, ...], Any] = {}
        self._plans: dict[tuple[Any, ...], Any] = {}  # launch plans (ops/wgpu/_kern.py)
        self._capture: dict[int, list[Any]] = {}  # thread id -> launches captured for a plan

    # ------------------------------------------------------------- memory
    def _k_alloc(self, numel: int, dtype: DType) -> Any:
        if dtype not in self.storage_dtypes:  # e.g. i16 from promoting i8 with u8
            raise UnsupportedDType("alloc", dtype, self.device_name)
        return self.pool.allocate(numel * sbytes(dtype))

    def _k_upload(self, arr: np.ndarray, dtype: DType) -> Any:
        self._count("h2d")
        host = arr.astype(np.uint32) if dtype is _dt.bool_ else arr
        data = np.ascontiguousarray(host).reshape(-1).view(np.uint8)
        st = self.pool.allocate(data.nbytes)
        if data.nbytes % 4:
            data = np.concatenate([data, np.zeros(4 - data.nbytes % 4, np.uint8)])
        if data.nbytes:
            # a freed buffer may still be read by recorded dispatches: submit them first
            self.engine.flush()
            self.device.queue.write_buffer(st.buffer, 0, data)
        return st

    def _k_download(self, x: Tensor) -> np.ndarray:
        self._count("d2h")
        sb = sbytes(x.dtype)
        if not x.is_contiguous() or (x.offset * sb) % 4:
            tmp = self._new(x.shape, x.dtype)
            self._k_copy(x, tmp)
            x = tmp
        start = x.offset * sb
        size = (x.numel * sb + 3) // 4 * 4
        stage = self.staging.allocate(size)
        raw = np.frombuffer(self.engine.read(x.storage.buffer, start, size, stage.buffer), dtype=np.uint8)
        if x.dtype is _dt.bool_:
            return (raw.view(np.uint32)[: x.numel] != 0).reshape(x.shape)
        return raw[: x.numel * sb].view(x.dtype.np_dtype).reshape(x.shape).copy()

    def from_numpy(self, arr: Any, dtype: DType | str | None = None) -> Tensor:
        """Upload an array; an int64 numpy array given without ``dtype`` is range-checked and stored as i32.

        wgpu has no 64-bit integers in shaders: values outside the i32 range raise InvalidArgument,
        and an explicit ``dtype=i64`` is refused with UnsupportedDType like any non-storage dtype.
        """
        a = np.asarray(arr)
        if dtype is None and a.dtype == np.int64 and isinstance(arr, np.ndarray):
            if a.size and (a.min() < _I32.min or a.max() > _I32.max):
                raise InvalidArgument(
                    "arr", f"int64 values outside the i32 range cannot be stored on {self.device_name}"
                )
            return super().from_numpy(a.astype(np.int32), _dt.i32)
        return super().from_numpy(arr, dtype)

    def sync(self) -> None:
        """Submit recorded dispatches and wait for the device."""
        self.engine.wait()

    def info(self) -> dict[str, Any]:
        ai = self.adapter.info
        return {
            "device": self.device_name,
            "adapter": adapter_name(self.adapter),
            "backend": ai.get("backend_type"),
            "adapter_type": ai.get("adapter_type"),
            "description": ai.get("description"),
            "features": sorted(self.features),
            "adapter_features": sorted(self.adapter.features),
            "limits": dict(self.limits),
            "dtypes": sorted(d.name for d in self.storage_dtypes),
            "stats": dict(self.engine.stats, buffers_created=self.pool.created, buffers_reused=self.pool.reused),
        }
