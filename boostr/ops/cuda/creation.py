"""CUDA arange and Philox random hooks (``kernels/cuda/creation``)."""

from __future__ import annotations

from ... import dtype as _dt
from ...tensor import Tensor
from ._util import CudaHookBase, as_i64, t_params

_DISTS = {"uniform": 0, "normal": 1, "randint": 2}


class CudaCreation(CudaHookBase):
    def _k_arange(self, out: Tensor, start: bool | int | float, step: bool | int | float) -> None:
        n = out.shape[0]
        int_path = out.dtype.is_int and isinstance(start, int) and isinstance(step, int)
        args = [out, n, int(int_path), int(start) if int_path else 0, int(step) if int_path else 0,
                float(start), float(step)]  # fmt: skip
        self._launch_flat("cuda/creation/arange.cu", f"arange_fill_{out.dtype.name}", t_params(out.dtype), n, args)

    def _k_random(self, out: Tensor, dist: str, seed: int, offset: int, a: float, b: float) -> None:
        n = out.numel
        params = (*t_params(out.dtype), ("F64", int(out.dtype is _dt.f64)))
        randint = dist == "randint"
        args = [out, n, _DISTS[dist], as_i64(seed), as_i64(offset), float(a), float(b),
                int(a) if randint else 0, int(b - a) if randint else 0]  # fmt: skip
        self._launch_flat("cuda/creation/random.cu", f"random_fill_{out.dtype.name}", params, n, args)
