"""CPU sort / topk hooks: stable numpy sorts along rows, a numba heap selection for
topk (NaN ranks as largest, ties by lower index, as the stable sort)."""

from __future__ import annotations

import numpy as np

from ...kernels.cpu.topk import topk_rows
from ...tensor import Tensor
from ._view import compute_view, np_view, store


def _stable_order(v: np.ndarray, descending: bool) -> np.ndarray:
    if not descending:
        return np.argsort(v, axis=1, kind="stable")
    cols = v.shape[1]
    rev = np.argsort(v[:, ::-1], axis=1, kind="stable")[:, ::-1]
    return cols - 1 - rev


class CpuSort:
    def _k_sort(self, x: Tensor, values: Tensor, indices: Tensor, descending: bool) -> None:
        v = compute_view(x)
        order = _stable_order(v, descending)
        store(indices, order)
        store(values, np.take_along_axis(v, order, axis=1))

    def _k_topk(self, x: Tensor, k: int, largest: bool, values: Tensor, indices: Tensor) -> None:
        v = compute_view(x)
        if v.dtype == np.bool_:
            v = v.view(np.uint8)
        iv = np_view(indices)
        direct = iv.dtype == np.int64 and values.dtype.np_dtype == v.dtype
        vals = np_view(values) if direct else np.empty((v.shape[0], k), dtype=v.dtype)
        idx = iv if direct else np.empty((v.shape[0], k), dtype=np.int64)
        topk_rows(v, k, bool(largest), vals, idx)
        if not direct:
            store(values, vals)
            store(indices, idx)
