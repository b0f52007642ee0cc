"""CPU copy and fill hooks."""

from __future__ import annotations

import numpy as np

from ... import dtype as _dt
from ...tensor import Tensor
from ._view import np_view

_E4M3_MAX = 448.0


class CpuMemory:
    """``_k_copy`` / ``_k_fill`` on numpy views."""

    def _k_copy(self, src: Tensor, dst: Tensor) -> None:
        s = np_view(src)
        if dst.dtype is _dt.fp8_e4m3 and src.dtype is not _dt.fp8_e4m3 and src.dtype.is_float:
            s = np.clip(s.astype(np.float32), -_E4M3_MAX, _E4M3_MAX)
        elif dst.dtype.is_half and src.dtype.is_half and src.dtype is not dst.dtype:
            s = s.astype(np.float32)
        np.copyto(np_view(dst), s, casting="unsafe")

    def _k_fill(self, dst: Tensor, value: bool | int | float) -> None:
        v = np_view(dst)
        if dst.dtype is _dt.fp8_e4m3 and isinstance(value, float):
            value = float(np.clip(value, -_E4M3_MAX, _E4M3_MAX))
        v[...] = np.asarray(value).astype(dst.dtype.np_dtype) if dst.dtype.is_half else value
