"""CpuClient: storage is a flat numpy array; views are ``as_strided`` windows on it."""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np

from ... import dtype as _dt
from ...dtype import DType
from ...ops.cpu import CPU_HOOKS
from ...ops.cpu._view import np_view
from ...tensor import Tensor
from ..client import ClientBase


class CpuClient(*CPU_HOOKS, ClientBase):  # type: ignore[misc]
    """The CPU backend: every dtype, computed with numpy/numba on the host."""

    kind = "cpu"
    storage_dtypes = frozenset(_dt.ALL_DTYPES)
    compute_dtypes = frozenset(d for d in _dt.ALL_DTYPES if not d.is_fp8)
    default_int = _dt.i64

    def _k_alloc(self, numel: int, dtype: DType) -> Any:
        return np.empty(numel, dtype=dtype.np_dtype)

    def _k_upload(self, arr: np.ndarray, dtype: DType) -> Any:
        self._count("h2d")
        return arr.reshape(-1).copy()

    def _k_download(self, x: Tensor) -> np.ndarray:
        self._count("d2h")
        return np.array(np_view(x), order="C", copy=True)

    def to_dlpack(self, x: Tensor, *args: Any, **kwargs: Any) -> Any:
        arr = np_view(x)
        if x.dtype.np_dtype.kind == "V" or x.dtype in (_dt.bf16, _dt.fp8_e4m3, _dt.fp8_e5m2):
            raise NotImplementedError(f"numpy cannot export {x.dtype} through DLPack")
        return arr.__dlpack__(*args, **kwargs)

    def dlpack_device(self) -> tuple[int, int]:
        return (1, 0)

    def from_dlpack(self, obj: Any) -> Tensor:
        arr = np.from_dlpack(obj)
        dt = _dt.from_numpy_dtype(arr.dtype)
        flat = np.ascontiguousarray(arr).reshape(-1)
        return Tensor(flat, arr.shape, dt, self)

    def info(self) -> dict[str, Any]:
        import numba

        return {
            "device": "cpu",
            "processor": platform.processor() or platform.machine(),
            "threads": numba.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "numpy": np.__version__,
            "numba": numba.__version__,
        }
