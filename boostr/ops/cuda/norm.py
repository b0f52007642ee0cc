"""CUDA norm hooks: one block per row, the row cached in shared memory when it fits
(``kernels/cuda/norm``), f32 accumulation for half types."""

from __future__ import annotations

from ... import dtype as _dt
from ...tensor import Tensor
from ._util import CudaHookBase, acc_params, aligned16
from .reduce import row_launch


def _setup(x: Tensor, *tensors: Tensor) -> tuple[int, int, int, int, bool, bool]:
    r, c = x.shape
    vec = c % (16 // x.dtype.itemsize) == 0 and aligned16(x, *tensors)
    threads, shared, cache = row_launch(c, x.dtype.itemsize, 8 if x.dtype is _dt.f64 else 4, vec)
    return r, c, threads, shared, cache, vec


class CudaNorm(CudaHookBase):
    def _k_rms_norm(self, x: Tensor, weight: Tensor | None, eps: float, out: Tensor) -> None:
        r, c, threads, shared, cache, vec = _setup(x, out)
        args = [out, x, weight, c, float(eps), int(cache), int(vec)]
        self._launch("cuda/norm/rms_norm.cu", f"rms_norm_rows_{x.dtype.name}", acc_params(x.dtype), r, threads, args,
                     shared)  # fmt: skip

    def _k_layer_norm(self, x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float, out: Tensor) -> None:
        r, c, threads, shared, cache, vec = _setup(x, out)
        args = [out, x, weight, bias, c, float(eps), int(cache), int(vec)]
        self._launch("cuda/norm/layer_norm.cu", f"layer_norm_rows_{x.dtype.name}", acc_params(x.dtype), r, threads,
                     args, shared)  # fmt: skip

    def _k_add_rms_norm(
        self, x: Tensor, residual: Tensor, weight: Tensor | None, eps: float, out: Tensor, sum_out: Tensor
    ) -> None:
        r, c, threads, shared, cache, vec = _setup(x, out, residual, sum_out)
        args = [out, sum_out, x, residual, weight, c, float(eps), int(cache), int(vec)]
        self._launch("cuda/norm/rms_norm.cu", f"add_rms_norm_rows_{x.dtype.name}", acc_params(x.dtype), r, threads,
                     args, shared)  # fmt: skip
