"""CUDA norm hooks: one block per row, the row cached in shared memory when it fits
(``kernels/cuda/norm``), f32 accumulation for half types."""

from __future__ import annotations

from ...runtime.cuda.kernels import dptr, signature
from ...tensor import Tensor
from ._util import CudaHookBase, aligned16
from .reduce import row_plan

_RMS = "cuda/norm/rms_norm.cu"
_SIG_RMS = signature("pppifii")  # out, x, weight, c, eps, cache, vec
_SIG_LAYER = signature("ppppifii")  # out, x, weight, bias, c, eps, cache, vec
_SIG_ADD_RMS = signature("pppppifii")  # out, sum, x, residual, weight, c, eps, cache, vec


def _p(t: Tensor | None) -> int:
    return 0 if t is None else dptr(t)


def _vec(x: Tensor, *tensors: Tensor) -> bool:
    """16-byte vector loads: rows a whole number of 16-byte words, every operand 16-byte aligned."""
    return x.shape[1] % (16 // x.dtype.itemsize) == 0 and aligned16(x, *tensors)


class CudaNorm(CudaHookBase):
    def _k_rms_norm(self, x: Tensor, weight: Tensor | None, eps: float, out: Tensor) -> None:
        r, c = x.shape
        vec = _vec(x, out)
        fn, threads, shared, cache = row_plan(self, _RMS, "rms_norm", x.dtype, c, vec)
        self._launch_packed(fn, r, threads, shared, _SIG_RMS, dptr(out), dptr(x), _p(weight), c, float(eps), cache,
                            int(vec))  # fmt: skip

    def _k_layer_norm(self, x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float, out: Tensor) -> None:
        r, c = x.shape
        vec = _vec(x, out)
        fn, threads, shared, cache = row_plan(self, "cuda/norm/layer_norm.cu", "layer_norm", x.dtype, c, vec)
        self._launch_packed(fn, r, threads, shared, _SIG_LAYER, dptr(out), dptr(x), _p(weight), _p(bias), c,
                            float(eps), cache, int(vec))  # fmt: skip

    def _k_add_rms_norm(
        self, x: Tensor, residual: Tensor, weight: Tensor | None, eps: float, out: Tensor, sum_out: Tensor
    ) -> None:
        r, c = x.shape
        vec = _vec(x, out, residual, sum_out)
        fn, threads, shared, cache = row_plan(self, _RMS, "add_rms_norm", x.dtype, c, vec)
        self._launch_packed(fn, r, threads, shared, _SIG_ADD_RMS, dptr(out), dptr(sum_out), dptr(x), dptr(residual),
                            _p(weight), c, float(eps), cache, int(vec))  # fmt: skip
