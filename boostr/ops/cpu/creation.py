"""CPU arange and Philox random hooks."""

from __future__ import annotations

import numpy as np

from ...kernels.cpu.philox import philox_fill
from ...tensor import Tensor
from ._view import store


class CpuCreation:
    def _k_arange(self, out: Tensor, start: bool | int | float, step: bool | int | float) -> None:
        n = out.shape[0]
        if out.dtype.is_int and isinstance(start, int) and isinstance(step, int):
            vals: np.ndarray = start + np.arange(n, dtype=np.int64) * step
        else:
            vals = float(start) + np.arange(n, dtype=np.float64) * float(step)
        store(out, vals)

    def _k_random(self, out: Tensor, dist: str, seed: int, offset: int, a: float, b: float) -> None:
        n = out.numel
        if dist == "randint":
            vals: np.ndarray = np.empty(n, dtype=np.int64)
        else:
            vals = np.empty(n, dtype=np.float64 if out.dtype.itemsize == 8 else np.float32)
        philox_fill(vals, {"uniform": 0, "normal": 1, "randint": 2}[dist], seed - (seed >> 63 << 64), offset, a, b)
        store(out, vals.reshape(out.shape))
