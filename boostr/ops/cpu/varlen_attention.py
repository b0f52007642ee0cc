"""CPU packed (varlen) attention forward: every sequence in one launch of the fused ``flash_fwd`` kernel.

The packed ``[T, H, D]`` arrays are addressed in place (``packed_rows``: row strides of H and
H_kv), so nothing is gathered per sequence; the backward goes through the generic composite
(one fused ``flash_attention_bwd`` per sequence). f64 runs the generic composite.
"""

from __future__ import annotations

import numpy as np

from ... import dtype as _dt
from ...kernels.cpu.attention_fwd import flash_fwd, fwd_tiles, packed_rows
from ...tensor import Tensor
from ..generic import varlen_attention as _gen
from ._view import np_view, store

_NO_SLOPES = np.zeros(1, np.float32)


class CpuVarlenAttention:
    """Override of the varlen trait's forward backend method."""

    def _varlen_attention_fwd(
        self, q: Tensor, k: Tensor, v: Tensor, cu_q: list[int], cu_k: list[int], causal: bool, scale: float
    ) -> tuple[Tensor, Tensor]:
        if q.dtype is _dt.f64:
            return _gen.varlen_attention_fwd(self, q, k, v, cu_q, cu_k, causal, scale)
        tq, h, d = q.shape
        hkv = k.shape[1]
        qa, ka, va = (np.ascontiguousarray(np_view(t), dtype=np.float32).reshape(-1, d) for t in (q, k, v))
        out = np.zeros((tq * h, d), np.float32)
        lse = np.full(h * tq, -np.inf, np.float32)
        seqs, strides = packed_rows(cu_q, cu_k, h, hkv)
        longest = int(seqs[:, 1].max()) if len(seqs) else 0
        if out.size and longest:
            bq, bk = fwd_tiles(longest)
            flash_fwd(
                qa, ka, va, out, lse, seqs, strides, h, hkv, np.float32(scale), causal, 0, _NO_SLOPES, False, bq, bk
            )
        res = self._new((tq, h, d), q.dtype)  # type: ignore[attr-defined]
        lse_t = self._new((h, tq), _dt.f32)  # type: ignore[attr-defined]
        if res.numel:
            store(res, out.reshape(tq, h, d))
            store(lse_t, lse.reshape(h, tq))
        return res, lse_t
