"""ClientBase: the shared front end of every backend client.

A backend client is ``class CpuClient(ClientBase, <backend hook mixins>)``.
ClientBase mixes in every op trait (``boostr/ops/traits``), holds the device
identity and dtype capabilities, counts host<->device transfers, and offers the
validation helpers the traits use. Backends implement ``runtime.hooks.KernelHooks``.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import dtype as _dt
from ..dtype import DType
from ..errors import InvalidArgument, UnsupportedDType
from ..ops.traits import ALL_TRAITS
from ..tensor import Tensor, _contiguous_view


@dataclass
class TransferCounter:
    """Host<->device transfers seen by one client (``h2d`` uploads, ``d2h`` downloads)."""

    h2d: int = 0
    d2h: int = 0

    @property
    def total(self) -> int:
        return self.h2d + self.d2h


class ClientBase(*ALL_TRAITS):  # type: ignore[misc]
    """Shared state and helpers; subclasses set the class attributes below."""

    kind: str = ""  # "cpu" | "cuda" | "wgpu"
    storage_dtypes: frozenset[DType] = frozenset()  # dtypes a tensor may hold here
    compute_dtypes: frozenset[DType] = frozenset()  # dtypes arithmetic runs in here
    default_int: DType = _dt.i64
    index_dtypes: frozenset[DType] = frozenset({_dt.i32, _dt.i64})

    def __init__(self, index: int = 0) -> None:
        self.index = index
        self.device_name = self.kind if self.kind == "cpu" else f"{self.kind}:{index}"
        self.transfers = TransferCounter()
        self._lock = threading.Lock()
        # validated hot-path plans of the op front ends (ops/traits), keyed per op by the
        # operand kinds they were validated for; bounded (cleared when full)
        self._op_plans: dict[Any, Any] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.device_name}>"

    # ------------------------------------------------------------ transfers
    def _count(self, direction: str) -> None:
        with self._lock:
            setattr(self.transfers, direction, getattr(self.transfers, direction) + 1)

    @contextlib.contextmanager
    def count_transfers(self) -> Iterator[TransferCounter]:
        """``with client.count_transfers() as c:`` counts transfers made inside the block."""
        start = TransferCounter(self.transfers.h2d, self.transfers.d2h)
        seen = TransferCounter()
        try:
            yield seen
        finally:
            self.sync()
            seen.h2d = self.transfers.h2d - start.h2d
            seen.d2h = self.transfers.d2h - start.d2h

    def sync(self) -> None:
        """Wait for queued device work (no-op on the CPU)."""

    def info(self) -> dict[str, Any]:
        """Device facts for ``boostr info``."""
        return {"device": self.device_name}

    # ------------------------------------------------------- host boundary
    def from_numpy(self, arr: Any, dtype: DType | str | None = None) -> Tensor:
        """Upload a numpy array (or nested lists / scalar) as a new contiguous tensor."""
        a = np.asarray(arr)
        if dtype is not None:
            dt = _dt.dtype(dtype)
        elif a.dtype == np.float64 and not isinstance(arr, np.ndarray):
            dt = _dt.f32  # Python floats default to f32, as in torch
        elif a.dtype.kind in "iu" and not isinstance(arr, np.ndarray):
            dt = self.default_int
        else:
            dt = _dt.from_numpy_dtype(a.dtype)
        self._check_storage("from_numpy", dt)
        a = a.astype(dt.np_dtype, order="C", copy=False)
        return Tensor(self._k_upload(a, dt), a.shape, dt, self)

    def to_numpy(self, x: Tensor) -> np.ndarray:
        """Download ``x`` into a new numpy array of ``x.dtype.np_dtype``."""
        self._check_tensor("x", x)
        if x.numel == 0:
            return np.zeros(x.shape, dtype=x.dtype.np_dtype)
        return self._k_download(x)

    def to_dlpack(self, x: Tensor, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"DLPack export is not offered by the {self.kind} backend")

    def dlpack_device(self) -> tuple[int, int]:
        raise NotImplementedError(f"DLPack is not offered by the {self.kind} backend")

    # ------------------------------------------------------------- helpers
    def _new(self, shape: Sequence[int], dtype: DType) -> Tensor:
        """A new contiguous tensor with undefined contents."""
        dims = shape if type(shape) is tuple else tuple(shape)
        for n in dims:
            if type(n) is not int:
                dims = tuple(int(n) for n in dims)
                break
        return _contiguous_view(self._k_alloc(math.prod(dims), dtype), dims, 0, dtype, self)

    def _check_tensor(self, arg: str, x: Any) -> Tensor:
        if not isinstance(x, Tensor):
            raise InvalidArgument(arg, f"expected a boostr.Tensor, received {type(x).__name__}")
        if x.client is not self:
            raise InvalidArgument(
                arg, f"expected a tensor on {self.device_name}, received one on {x.device} (move it with .to())"
            )
        return x

    def _check_storage(self, op: str, dt: DType) -> None:
        if dt not in self.storage_dtypes:
            raise UnsupportedDType(op, dt, self.device_name)

    def _check_compute(self, op: str, dt: DType) -> None:
        if dt not in self.compute_dtypes:
            hint = "fp8 is a storage type: cast to f16/bf16/f32 first" if dt.is_fp8 else ""
            raise UnsupportedDType(op, dt, self.device_name, hint)

    def _index_tensor(self, arg: str, index: Any) -> Tensor:
        """Validate an index tensor: on this client, an integer dtype, contiguous."""
        if not isinstance(index, Tensor):
            index = self.from_numpy(np.asarray(index, dtype=np.int64), self.default_int)
        self._check_tensor(arg, index)
        if index.dtype not in self.index_dtypes:
            if not index.dtype.is_int:
                raise InvalidArgument(arg, f"expected an integer index tensor, received {index.dtype}")
            index = self.cast(index, self.default_int)
        return index.contiguous()
