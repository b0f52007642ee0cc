"""CPU sort / topk hooks: stable numpy sorts along rows (NaN sorts as largest)."""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from ._view import compute_view, store


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
        order = _stable_order(v, largest)[:, :k]
        store(indices, order)
        store(values, np.take_along_axis(v, order, axis=1))
