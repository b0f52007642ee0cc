"""CPU MLA forward: the up-projection absorption and the latent attention, all on the numba microkernels.

``q_lat = q_nope @ w_uk`` and ``out = o_lat @ w_uv^T`` run in ``attention_mk.bmm`` (per-head
batched GEMMs in numba's threads: OpenBLAS's own threads fight numba's and stall under load,
100 ms where the numba GEMM takes a few); the latent attention
(one KV head of width ``d_c + d_r``, values ``d_c``) runs in ``flash_fwd``, which takes any
key/value widths. When no query can be masked differently from another (no causal mask, or
Sq == 1) the H heads are stacked as H * Sq query rows of a single head, so one key tile is
scored for all heads at once (the MQA decode layout). f64 runs the generic composite.
"""

from __future__ import annotations

import numpy as np

from ... import dtype as _dt
from ...kernels.cpu.attention_fwd import dense_rows, flash_fwd, fwd_tiles
from ...kernels.cpu.attention_mk import NV_QK, VW, bmm
from ...tensor import Tensor
from ..generic import mla_attention as _gen
from ..generic.attention_mask import AttnSpec
from ._view import np_view, store

_NO_SLOPES = np.zeros(1, np.float32)


def _f32(x: Tensor) -> np.ndarray:
    return np.ascontiguousarray(np_view(x), dtype=np.float32)


def _bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a [G, M, K] @ b [Gb, K, N]`` (b indexed ``g % Gb``) -> ``[G, M, N]`` f32, N padded for the kernel."""
    n = b.shape[2]
    npad = -(-n // (NV_QK * VW)) * (NV_QK * VW)
    bp = np.ascontiguousarray(np.pad(b, ((0, 0), (0, 0), (0, npad - n))) if npad != n else b)
    c = np.empty((a.shape[0], a.shape[1], npad), np.float32)
    if c.size and a.shape[2]:
        bmm(np.ascontiguousarray(a), bp, c)
    elif c.size:
        c[...] = 0.0
    return c[..., :n]


class CpuMlaAttention:
    """Override of the MLA trait's backend method."""

    def _mla_attention_fwd(
        self, q_nope: Tensor, q_rope: Tensor, kv_latent: Tensor, k_rope: Tensor, w_uk: Tensor, w_uv: Tensor,
        spec: AttnSpec,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        if q_nope.dtype is _dt.f64:
            return _gen.mla_attention_fwd(self, q_nope, q_rope, kv_latent, k_rope, w_uk, w_uv, spec)
        b, h, sq, _ = q_nope.shape
        sk, dc = kv_latent.shape[1], kv_latent.shape[2]
        dv = w_uv.shape[1]
        lat = _f32(kv_latent)
        q_lat = _bmm(_f32(q_nope).reshape(b * h, sq, q_nope.shape[3]), _f32(w_uk)).reshape(b, h, sq, dc)
        qc = np.concatenate([q_lat, _f32(q_rope)], -1)
        dk = qc.shape[3]
        kc = np.concatenate([lat, _f32(k_rope)], -1).reshape(b * sk, dk)
        stacked = not spec.limited or sq == 1
        qk = qc.reshape(b, 1, h * sq, dk) if stacked else qc
        o_lat = np.empty((*qk.shape[:3], dc), np.float32)
        lse = np.empty(qk.shape[:3], np.float32)
        if o_lat.size:
            bq, bk = fwd_tiles(qk.shape[2])
            hq, sqq = qk.shape[1], qk.shape[2]
            seqs, strides = dense_rows(b, hq, 1, sqq, sk, spec.kv_len)
            flash_fwd(
                qk.reshape(-1, dk), kc, lat.reshape(b * sk, dc), o_lat.reshape(-1, dc), lse.reshape(-1), seqs, strides,
                hq, 1, np.float32(spec.scale), spec.limited and not stacked, 0, _NO_SLOPES, False, bq, bk,
            )  # fmt: skip
        out = _bmm(o_lat.reshape(b * h, sq, dc), _f32(w_uv).transpose(0, 2, 1)).reshape(b, h, sq, dv)
        res = self._new((b, h, sq, dv), q_nope.dtype)  # type: ignore[attr-defined]
        lse_t = self._new((b, h, sq), _dt.f32)  # type: ignore[attr-defined]
        if res.numel:
            store(res, out)
            store(lse_t, lse.reshape(b, h, sq))
        return res, lse_t
