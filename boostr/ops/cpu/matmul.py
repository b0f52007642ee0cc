"""CPU matmul hook: numpy's BLAS (half types multiplied in f32, then rounded)."""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from ._view import compute_view, np_view, store


class CpuMatmul:
    def _k_matmul(self, a: Tensor, b: Tensor, out: Tensor) -> None:
        va, vb = compute_view(a), compute_view(b)
        if out.dtype.is_half:
            store(out, np.matmul(va, vb))
        else:
            np.matmul(va, vb, out=np_view(out))
