"""CUDA sort / topk hooks: order-preserving keys from a RawKernel (``kernels/cuda/sort``),
then CuPy's device sort of each row, then values moved by index.

Keys of <= 4-byte dtypes carry the column in their low 32 bits, so sorting them is stable by
construction; 8-byte dtypes use CuPy's stable argsort. NaN sorts as the largest value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...dtype import DType
from ...tensor import Tensor
from ._util import CTYPE, CudaHookBase

_KIND = {"u": 0, "b": 0, "i": 1, "f": 2}


def sort_params(dt: DType) -> tuple[tuple[str, object], ...]:
    """Template parameters of ``sort_keys.cu`` for ``dt``."""
    bits = dt.itemsize * 8
    return (("T", CTYPE[dt]), ("N", dt.name), ("K", "u64" if bits == 64 else "u32"), ("KIND", _KIND[dt.kind]),
            ("BITS", bits), ("BF16", int(dt.name == "bf16")))  # fmt: skip


class CudaSort(CudaHookBase):
    def _sorted_order(self, x: Tensor, descending: bool) -> Any:
        """Column order [R, C] (int64 CuPy array) of the stable sort of each row of ``x``."""
        r, c = x.shape
        dt = x.dtype
        cp = self.cp
        bits = dt.itemsize * 8
        params = sort_params(dt)
        with self._scope():
            keys = cp.empty((r, c), dtype=np.uint64)
        n = r * c
        self._launch_flat("cuda/sort/sort_keys.cu", f"sort_keys_{dt.name}", params, n,
                          [keys.data.ptr, x, n, c, int(descending)])  # fmt: skip
        with self._scope():
            if bits <= 32:
                return (cp.sort(keys, axis=1) & np.uint64(0xFFFFFFFF)).astype(np.int64)
            return cp.argsort(keys, axis=1)

    def _write_sorted(self, x: Tensor, order: Any, values: Tensor, indices: Tensor) -> None:
        cp = self.cp
        with self._scope():
            cp.copyto(self._cp_view(indices), order.astype(indices.dtype.np_dtype, copy=False))
            cp.copyto(self._cp_view(values), cp.take_along_axis(self._cp_view(x), order, axis=1))

    def _k_sort(self, x: Tensor, values: Tensor, indices: Tensor, descending: bool) -> None:
        self._write_sorted(x, self._sorted_order(x, descending), values, indices)

    def _k_topk(self, x: Tensor, k: int, largest: bool, values: Tensor, indices: Tensor) -> None:
        self._write_sorted(x, self._sorted_order(x, largest)[:, :k], values, indices)
