"""CPU RoPE: the numba kernel of ``boostr/kernels/cpu/rope.py`` (f64 inputs run the generic composite)."""

from __future__ import annotations

import numpy as np

from ... import dtype as _dt
from ...errors import InvalidArgument
from ...kernels.cpu.rope import rope_rows
from ...tensor import Tensor
from ..generic import rope as _gen
from ._view import np_view, store


class CpuRoPE:
    """Override of the RoPE trait's backend method."""

    def _apply_rope(
        self, x: Tensor, cos: Tensor, sin: Tensor, interleaved: bool, position_ids: Tensor | None, sign: float
    ) -> Tensor:
        if x.dtype is _dt.f64 or cos.dtype is _dt.f64:
            return _gen.apply_rope(self, x, cos, sin, interleaved, position_ids, sign)
        b, _, s, _ = x.shape
        if position_ids is None:
            pos = np.broadcast_to(np.arange(s, dtype=np.int64), (b, s))
        else:
            pos = np.broadcast_to(np_view(position_ids).reshape(-1, s), (b, s)).astype(np.int64)
            if pos.size and (pos.min() < 0 or pos.max() >= cos.shape[0]):
                raise InvalidArgument(
                    "position_ids", f"values must be in [0, {cos.shape[0]}), received [{pos.min()}, {pos.max()}]"
                )
        f32 = np.float32
        xa = np.ascontiguousarray(np_view(x), dtype=f32)
        ca = np.ascontiguousarray(np_view(cos), dtype=f32)
        sa = np.ascontiguousarray(np_view(sin), dtype=f32)
        res = np.empty(xa.shape, f32)
        if res.size:
            rope_rows(xa, ca, sa, np.ascontiguousarray(pos), interleaved, f32(sign), res)
        out = self._new(x.shape, x.dtype)  # type: ignore[attr-defined]
        if out.numel:
            store(out, res)
        return out
