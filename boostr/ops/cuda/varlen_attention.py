"""CUDA packed (varlen) attention: every sequence in one launch per pass, read in place through cu_seqlens.

Kernels (``kernels/cuda/attention``): ``varlen_fwd_tc.cu`` (f16/bf16, D 64/128: the tensor-core body of
``flash_fwd_tc.cu``), ``varlen_fwd.cu`` (every other (dtype, head dim): the SIMT body of ``flash_fwd.cu``),
``varlen_bwd_tc.cu`` (f16/bf16, D 64/128: the tensor-core delta, dq, dk/dv bodies of ``flash_bwd_tc.cu``) and
``varlen_bwd.cu`` (every other (dtype, head dim): the SIMT bodies of ``flash_bwd.cu``). The dense and varlen
kernels share one body; a varlen CTA reads its sequence's offsets and lengths from ``cu_q`` / ``cu_k`` on the
device. Grids are (``ceil(max_len / block) * num_seqs``, heads); CTAs past their sequence exit at once, so empty
and length-1 sequences cost nothing extra. ``cu_q ++ cu_k`` is uploaded once per distinct packing (the control
data, as FlashAttention's cu_seqlens; an LRU of ``CU_CACHE`` per client). f64 runs the generic composite.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ... import dtype as _dt
from ...runtime.cuda.kernels import KernelStruct
from ...tensor import Tensor
from ..generic import varlen_attention as _gen
from ..traits.varlen_attention import VarlenAttentionOps
from . import attention as _att
from ._util import CudaHookBase, t_params
from .attention import FUSED, NW, SIMT_BM, SIMT_BN, TC_BM, TC_BN, TC_DIMS, dense_last, launch_smem, rows16, tc_params

CU_CACHE = 8


def cu_tensor(c: Any, cu_q: list[int], cu_k: list[int]) -> tuple[Tensor, Tensor]:
    """``cu_q`` and ``cu_k`` as i64 device tensors (one upload per distinct packing, LRU of ``CU_CACHE``)."""
    cache: dict[tuple[int, ...], Tensor] = c.__dict__.setdefault("_cuda_varlen_cu", {})
    key = (*cu_q, -1, *cu_k)
    t = cache.pop(key, None)
    if t is None:
        t = c.from_numpy(np.array([*cu_q, *cu_k], np.int64), _dt.i64)
        while len(cache) >= CU_CACHE:
            cache.pop(next(iter(cache)))
    cache[key] = t
    n = len(cu_q)
    return t.narrow(0, 0, n), t.narrow(0, n, n)


def longest(cu: list[int]) -> int:
    return max((b - a for a, b in itertools.pairwise(cu)), default=0)


class CudaVarlenAttention(VarlenAttentionOps, CudaHookBase):
    """Overrides of the varlen trait's backend hooks (subclassing the trait keeps this mixin ahead of it)."""

    def _varlen_attention_fwd(
        self, q: Tensor, k: Tensor, v: Tensor, cu_q: list[int], cu_k: list[int], causal: bool, scale: float
    ) -> tuple[Tensor, Tensor]:
        dt = q.dtype
        if dt not in FUSED:
            return _gen.varlen_attention_fwd(self, q, k, v, cu_q, cu_k, causal, scale)
        tq, h, d = q.shape
        hkv, nseq = k.shape[1], len(cu_q) - 1
        out = self._new((tq, h, d), dt)
        lse = self._new((h, tq), _dt.f32)
        if tq * h == 0:
            return out, lse
        cq, ck = cu_tensor(self, cu_q, cu_k)
        if dt is not _dt.f32 and d in TC_DIMS:
            q, k, v = rows16(self, q), rows16(self, k), rows16(self, v)
            bm, shared = TC_BM, (TC_BM + 4 * TC_BN) * (d + 8) * 2
            rel, entry, params = "cuda/attention/varlen_fwd_tc.cu", f"varlen_fwd_tc{d}_{dt.name}", tc_params(dt)
        else:
            q, k, v = dense_last(self, q), dense_last(self, k), dense_last(self, v)
            bm, shared = SIMT_BM, (SIMT_BM * d + SIMT_BN * (d + 1) + SIMT_BN * d) * 4
            rel, entry, params = "cuda/attention/varlen_fwd.cu", f"varlen_fwd_simt{d}_{dt.name}", t_params(dt)
        nqb = -(-longest(cu_q) // bm)
        args = [out, lse, q, k, v, cq, ck, h, hkv, tq, nqb, *q.strides[:2], *k.strides[:2], *v.strides[:2],
                float(scale), 0, int(causal)]  # fmt: skip
        launch_smem(self, rel, entry, params, (nqb * nseq, h), NW * 32, args, shared)
        return out, lse

    def _varlen_attention_bwd(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, cu_q: list[int],
        cu_k: list[int], causal: bool, scale: float,
    ) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
        dt = q.dtype
        if dt not in FUSED:
            return _gen.varlen_attention_bwd(self, dout, q, k, v, out, lse, cu_q, cu_k, causal, scale)
        tq, h, d = q.shape
        tk, hkv = k.shape[0], k.shape[1]
        if tq * h == 0 or tk == 0:  # no query or no key anywhere: every gradient is 0
            z = [self.zeros(*t.shape, dtype=dt) for t in (q, k, v)]
            return z[0], z[1], z[2]
        nseq = len(cu_q) - 1
        dq, dk, dv = self._new(q.shape, dt), self._new(k.shape, dt), self._new(k.shape, dt)
        plan = _att.bwd_plan("varlen", dt, d)
        q, k, v, dout, out = _att.bwd_inputs(self, plan, (q, k, v, dout, out))
        lse = (lse if lse.dtype is _dt.f32 else self.cast(lse, _dt.f32)).contiguous()
        cq, ck = cu_tensor(self, cu_q, cu_k)
        rel, params, tc = plan.rel, plan.params, plan.tc
        rows = h * tq
        delta = self._new((h, tq), _dt.f32)  # [Tq, H, D] seen as [1, H, Tq, D]: delta [H, Tq] like lse
        self._launch(rel, f"bwd_delta{tc}_{dt.name}", params, -(-rows // 4), 128,
                     [delta, dout, out, h, tq, d, 0, dout.strides[1], dout.strides[0], 0, out.strides[1],
                      out.strides[0], rows])  # fmt: skip
        st = KernelStruct(np.array([t.strides[i] for t in (q, dout, k, v) for i in (0, 1, 0)], np.int64))
        opts = [float(scale), 0, int(causal)]
        nqb, nkb = -(-longest(cu_q) // plan.qb), -(-longest(cu_k) // plan.kb)
        if nqb:
            launch_smem(self, rel, f"varlen_bwd_dq{tc}{d}_{dt.name}", params, (nqb * nseq, h), 128,
                        [dq, q, k, v, dout, lse, delta, cq, ck, h, hkv, tq, nqb, st, *opts], plan.dq_smem)  # fmt: skip
        if nkb:
            launch_smem(self, rel, f"varlen_bwd_dkdv{tc}{d}_{dt.name}", params, (nkb * nseq, hkv), 128,
                        [dk, dv, q, k, v, dout, lse, delta, cq, ck, h, hkv, tq, nkb, st, *opts],
                        plan.dkdv_smem)  # fmt: skip
        return dq, dk, dv


__all__ = ["CudaVarlenAttention", "cu_tensor", "longest"]
