"""CudaClient: storage is a flat CuPy array on one device; views are (shape, strides, offset).

bf16 is stored as uint16 and fp8 e4m3 / e5m2 as uint8 (CuPy has neither dtype); kernels
compute on them in f32. Memory comes from CuPy's memory pool; every launch and CuPy call runs
on CuPy's current stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ... import dtype as _dt
from ...dtype import DType
from ...ops.cuda import CUDA_HOOKS
from ...ops.cuda._util import STORAGE_BY_NAME, STORAGE_NP
from ...tensor import Tensor
from ..client import ClientBase
from .kernels import KernelCache, flat_grid, launch, packed_launch

_DLPACK_CUDA = 2  # kDLCUDA


class CudaClient(*CUDA_HOOKS, ClientBase):  # type: ignore[misc]
    """The CUDA backend for device ``cuda:<index>`` (compute capability >= 8.0)."""

    kind = "cuda"
    storage_dtypes = frozenset(_dt.ALL_DTYPES)
    compute_dtypes = frozenset(d for d in _dt.ALL_DTYPES if not d.is_fp8)
    default_int = _dt.i64

    def __init__(self, index: int = 0) -> None:
        super().__init__(index)
        import cupy

        self.cp: Any = cupy
        self._device = cupy.cuda.Device(index)
        self._multi = cupy.cuda.runtime.getDeviceCount() > 1
        props = cupy.cuda.runtime.getDeviceProperties(index)
        self.props = props
        self.sm_count = int(props["multiProcessorCount"])
        self.compute_capability = str(self._device.compute_capability)
        self.kernels = KernelCache(cupy, self.compute_capability)
        self._ndarray = cupy.ndarray
        # hot-path launch plans of the hooks, keyed by the hook (see ops/cuda/_util.py: ``plan``)
        self._plans: dict[Any, Any] = {}

    # ----------------------------------------------------------- device scope
    @contextlib.contextmanager
    def _scope(self) -> Iterator[None]:
        """Make this client's device current (a no-op on single-GPU machines)."""
        if self._multi:
            with self._device:
                yield
        else:
            yield

    def _launch(
        self,
        relpath: str,
        entry: str,
        params: tuple[tuple[str, object], ...],
        grid: Any,
        block: int,
        args: list[Any],
        shared: int = 0,
    ) -> None:
        """Look up (compiling once) ``entry`` of ``relpath`` and launch it: see runtime.cuda.kernels.launch."""
        fn = self.kernels.function(relpath, entry, params)
        if self._multi:
            with self._device:
                launch(fn, grid, block, args, shared)
        else:
            launch(fn, grid, block, args, shared)

    def _launch_packed(self, fn: Any, grid: int, block: int, shared: int, sig: Any, *values: Any) -> None:
        """Launch an already looked-up kernel ``fn`` over a 1-D ``grid`` with its parameters packed
        by ``sig`` (``runtime.cuda.kernels.signature``): the hooks' hot path."""
        if self._multi:
            with self._device:
                packed_launch(fn, grid, block, shared, sig, values)
        else:
            packed_launch(fn, grid, block, shared, sig, values)

    def _launch_flat(
        self, relpath: str, entry: str, params: tuple[tuple[str, object], ...], n: int, args: list[Any]
    ) -> None:
        """Launch a grid-stride kernel over ``n`` elements with 256-thread blocks."""
        self._launch(relpath, entry, params, flat_grid(n), 256, args)

    def _cp_view(self, x: Tensor) -> Any:
        """A CuPy view of ``x`` in its storage dtype (no copy)."""
        base = x.storage
        isz = base.itemsize
        if x.numel == 0:
            return self.cp.empty(x.shape, dtype=base.dtype)
        return self.cp.lib.stride_tricks.as_strided(
            base[x.offset :], shape=x.shape, strides=tuple(s * isz for s in x.strides)
        )

    # ------------------------------------------------------------------ memory
    def _k_alloc(self, numel: int, dtype: DType) -> Any:
        if self._multi:
            with self._device:
                return self._ndarray((numel,), STORAGE_BY_NAME[dtype.name])
        return self._ndarray((numel,), STORAGE_BY_NAME[dtype.name])

    def _k_upload(self, arr: np.ndarray, dtype: DType) -> Any:
        self._count("h2d")
        flat = np.ascontiguousarray(arr).reshape(-1).view(STORAGE_NP[dtype])
        with self._scope():
            return self.cp.asarray(flat)

    def _k_download(self, x: Tensor) -> np.ndarray:
        self._count("d2h")
        with self._scope():
            host = self.cp.ascontiguousarray(self._cp_view(x)).get()
        return host.view(x.dtype.np_dtype).reshape(x.shape)  # .get() is a fresh C-contiguous copy

    def sync(self) -> None:
        with self._scope():
            self.cp.cuda.get_current_stream().synchronize()

    # ------------------------------------------------------------------ dlpack
    def to_dlpack(self, x: Tensor, *args: Any, **kwargs: Any) -> Any:
        """DLPack capsule of ``x`` (native dtypes only: bf16 / fp8 have no CuPy dtype)."""
        if STORAGE_NP[x.dtype] != x.dtype.np_dtype:
            raise NotImplementedError(f"CuPy cannot export {x.dtype} through DLPack (stored as raw bits)")
        return self._cp_view(x).__dlpack__(*args, **kwargs)

    def dlpack_device(self) -> tuple[int, int]:
        return (_DLPACK_CUDA, self.index)

    def from_dlpack(self, obj: Any) -> Tensor:
        """A tensor sharing (or, when strided, copying) the memory of a DLPack producer."""
        with self._scope():
            arr = self.cp.from_dlpack(obj)
            dt = _dt.from_numpy_dtype(np.dtype(arr.dtype))
            flat = self.cp.ascontiguousarray(arr).reshape(-1)
        return Tensor(flat, arr.shape, dt, self)

    # -------------------------------------------------------------------- info
    def info(self) -> dict[str, Any]:
        cp = self.cp
        rt = cp.cuda.runtime
        with self._scope():
            free, total = self._device.mem_info
        name = self.props["name"]
        return {
            "device": self.device_name,
            "name": name.decode() if isinstance(name, bytes) else str(name),
            "compute_capability": f"{self.compute_capability[:-1]}.{self.compute_capability[-1]}",
            "multiprocessors": self.sm_count,
            "memory_total_gib": round(total / 2**30, 2),
            "memory_free_gib": round(free / 2**30, 2),
            "cupy": cp.__version__,
            "cuda_runtime": _version(rt.runtimeGetVersion()),
            "cuda_driver": _version(rt.driverGetVersion()),
            "nvrtc": _nvrtc(self.kernels.compiler[1]),
        }


def _nvrtc(v: object) -> str:
    return ".".join(str(x) for x in v) if isinstance(v, tuple) else str(v)


def _version(v: int) -> str:
    return f"{v // 1000}.{(v % 1000) // 10}"
