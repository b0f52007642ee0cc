"""CPU row reductions, softmax and cumsum (rows of a contiguous ``[R, C]``)."""

from __future__ import annotations

import numpy as np

from ...kernels.cpu.softmax import softmax_rows, softmax_rows_f32
from ...tensor import Tensor
from ._view import compute_view, np_view, store


def _arg_extreme(v: np.ndarray, largest: bool) -> np.ndarray:
    if v.dtype.kind == "f":
        nan = np.isnan(v)
        idx = np.argmax(v, axis=1) if largest else np.argmin(v, axis=1)
        has_nan = nan.any(axis=1)
        return np.where(has_nan, np.argmax(nan, axis=1), idx)
    return np.argmax(v, axis=1) if largest else np.argmin(v, axis=1)


class CpuReduce:
    def _k_reduce(self, op: str, x: Tensor, out: Tensor) -> None:
        v = compute_view(x)
        if op == "sum":
            r = v.sum(axis=1, dtype=np.float64 if v.dtype == np.float64 else None)
        elif op == "prod":
            r = v.prod(axis=1)
        elif op == "max":
            r = v.max(axis=1)
        elif op == "min":
            r = v.min(axis=1)
        elif op == "argmax":
            r = _arg_extreme(v, True)
        elif op == "argmin":
            r = _arg_extreme(v, False)
        elif op == "any":
            r = v.any(axis=1)
        else:
            r = v.all(axis=1)
        store(out, r)

    def _k_softmax(self, x: Tensor, out: Tensor, log: bool) -> None:
        v = np_view(x)
        if v.dtype == np.float32:
            softmax_rows_f32(v, np_view(out), log)
        elif v.dtype == np.float64:
            softmax_rows(v, np_view(out), log)
        else:  # half types: staged through f32
            tmp = np.empty(v.shape, dtype=np.float32)
            softmax_rows_f32(v.astype(np.float32), tmp, log)
            store(out, tmp)

    def _k_cumsum(self, x: Tensor, out: Tensor) -> None:
        store(out, np.cumsum(compute_view(x), axis=1))
