"""CPU norm hooks: numba kernels in f32 (half types staged through f32) or f64."""

from __future__ import annotations

import numpy as np

from ...kernels.cpu.norm import add_rms_norm_rows, layer_norm_rows, rms_norm_rows
from ...tensor import Tensor
from ._view import np_view, store


def _arr(x: Tensor | None, like: np.dtype) -> np.ndarray:
    if x is None:
        return np.ones(1, dtype=like)
    v = np_view(x)
    return v if v.dtype == like else v.astype(like)


def _work_dtype(x: Tensor) -> np.dtype:
    return np.dtype(np.float64) if x.dtype.itemsize == 8 else np.dtype(np.float32)


class CpuNorm:
    def _k_rms_norm(self, x: Tensor, weight: Tensor | None, eps: float, out: Tensor) -> None:
        wd = _work_dtype(x)
        xv = _arr(x, wd)
        direct = out.dtype.np_dtype == wd
        dst = np_view(out) if direct else np.empty(x.shape, wd)
        rms_norm_rows(xv, _arr(weight, wd), weight is not None, eps, dst)
        if not direct:
            store(out, dst)

    def _k_layer_norm(self, x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float, out: Tensor) -> None:
        wd = _work_dtype(x)
        direct = out.dtype.np_dtype == wd
        dst = np_view(out) if direct else np.empty(x.shape, wd)
        layer_norm_rows(_arr(x, wd), _arr(weight, wd), weight is not None, _arr(bias, wd), bias is not None, eps, dst)
        if not direct:
            store(out, dst)

    def _k_add_rms_norm(
        self, x: Tensor, residual: Tensor, weight: Tensor | None, eps: float, out: Tensor, sum_out: Tensor
    ) -> None:
        wd = _work_dtype(x)
        half = out.dtype.np_dtype != wd
        dst = np.empty(x.shape, wd) if half else np_view(out)
        sdst = np.empty(x.shape, wd) if half else np_view(sum_out)
        add_rms_norm_rows(_arr(x, wd), _arr(residual, wd), _arr(weight, wd), weight is not None, eps, dst, sdst)
        if half:
            store(sum_out, sdst)
            store(out, dst)
