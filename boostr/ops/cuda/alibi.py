"""CUDA flash attention with ALiBi (``alibi_slopes=``): the dense flash kernels with the per-head bias fused.

Kernels (``kernels/cuda/attention``): ``alibi_fwd_tc.cu`` (f16/bf16, D 64/128: the tensor-core body of
``flash_fwd_tc.cu``), ``alibi_fwd.cu`` (every other (dtype, head dim): the SIMT body of ``flash_fwd.cu``),
``alibi_bwd_tc.cu`` (f16/bf16, D 64/128: the tensor-core bodies of ``flash_bwd_tc.cu``), ``alibi_bwd.cu``
(every other (dtype, head dim): delta, dq, dk/dv, the bodies of ``flash_bwd.cu``). Each score gets
``-slope_h * |p_i - j|`` (``p_i = i + kv_len - Sq``, bottom-right aligned as the mask) before the softmax;
the slopes are read as f32. Sq == 1 runs split-K flash decoding, ``alibi_decode_tc.cu`` (f16/bf16, every head
dim) or ``alibi_decode.cu`` (f32): the bodies of ``flash_decode_tc.cu`` / ``flash_decode.cu`` with the bias,
merged by the dense decode's log-sum-exp combine. f64 runs the generic composite.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import dtype as _dt
from ...runtime.cuda.kernels import KernelStruct
from ...tensor import Tensor
from ..generic import attention as _gen
from ..generic import attention_bwd as _gen_bwd
from ..generic.attention_mask import AttnSpec
from ..traits.attention import AttentionOps
from . import attention as _att
from ._util import CudaHookBase, t_params
from .attention import FUSED, NW, SIMT_BM, SIMT_BN, TC_BM, TC_BN, TC_DIMS, dense_last, launch_smem, rows16, tc_params


def slopes_f32(c: CudaHookBase, slopes: Tensor) -> Tensor:
    """``slopes [H]`` as a contiguous f32 tensor (a device cast / copy only when needed)."""
    sl = slopes if slopes.dtype is _dt.f32 else c.cast(slopes, _dt.f32)
    return sl.contiguous()


def alibi_decode(c: Any, q: Tensor, k: Tensor, v: Tensor, sl: Tensor, spec: AttnSpec, out: Tensor, lse: Tensor) -> None:
    """Split-K flash decoding with ALiBi: ``q [B, H, 1, D]``, ``k/v [B, Hkv, Sk, D]``, ``sl [H]`` f32 contiguous;
    writes ``out [B, H, 1, D]`` and ``lse [B, H, 1]`` (contiguous). The query sits at ``pos = kv_len - 1``;
    splits, row groups and the combine are the dense decode's (``CudaAttention._cuda_decode``)."""
    b, h, _, d = q.shape
    hkv, dt = k.shape[1], q.dtype
    tc = dt in _att.DEC_TC
    q, k, v = (rows16(c, t) if tc else dense_last(c, t) for t in (q, k, v))
    if k.strides != v.strides:
        k, v = c.copy(k), c.copy(v)
    jlo, jhi = spec.key_range(0, 1, 1)
    n, g, rows, pos = max(0, jhi - jlo), h // hkv, b * h, spec.kv_len - 1
    rg = -(-g // _att.decode_rmax(d, dt))
    head = [q, k, v, h, hkv, q.strides[0], q.strides[1], *k.strides[:3], jlo, jhi]
    if tc:
        splits, chunk = _att.decode_splits(c, n, b * hkv * rg, _att.DEC_TC_KEYS, _att.DEC_TC_PER_SM)
        pm, pl, pacc = _att.scratch(c, rows, splits, d)
        args = [pm.data.ptr, pl.data.ptr, pacc.data.ptr, *head, chunk, float(spec.scale), sl, pos]
        launch_smem(c, "cuda/attention/alibi_decode_tc.cu", f"alibi_decode_tc{d}_{dt.name}", tc_params(dt),
                    (hkv * rg, splits, b), NW * 32, args, _att.decode_tc_smem(d, min(g, _att.DEC_TC_ROWS)))  # fmt: skip
        _att.run_combine(c, out, lse, pm, pl, pacc, rows, splits, d)
        return
    splits, chunk = _att.decode_splits(c, n, b * hkv * rg)
    np_ = splits * NW
    pm, pl, pacc = _att.scratch(c, rows, np_, d)
    vec = _att.vec_ok(d, dt.itemsize, [q, k, v], [*q.strides[:2], *k.strides[:3]])
    args = [pm.data.ptr, pl.data.ptr, pacc.data.ptr, *head, chunk, float(spec.scale), int(vec), sl, pos]
    c._launch("cuda/attention/alibi_decode.cu", f"alibi_decode{d}_{dt.name}", t_params(dt), (splits, hkv * rg, b),
              NW * 32, args)  # fmt: skip
    _att.run_combine(c, out, lse, pm, pl, pacc, rows, np_, d)


class CudaAttentionAlibi(AttentionOps, CudaHookBase):
    """Overrides of the attention trait's ALiBi hooks (subclassing the trait keeps this mixin ahead of it)."""

    def _flash_attention_fwd_alibi(
        self, q: Tensor, k: Tensor, v: Tensor, slopes: Tensor, spec: AttnSpec
    ) -> tuple[Tensor, Tensor]:
        dt = q.dtype
        if dt not in FUSED:
            return _gen.flash_attention_fwd(self, q, k, v, spec, slopes)
        b, h, sq, d = q.shape
        out = self._new((b, h, sq, d), dt)
        lse = self._new((b, h, sq), _dt.f32)
        if b * h * sq == 0:
            return out, lse
        sl = slopes_f32(self, slopes)
        if sq == 1:
            alibi_decode(self, q, k, v, sl, spec, out, lse)
            return out, lse
        hkv, sk = k.shape[1], k.shape[2]
        tc = dt is not _dt.f32 and d in TC_DIMS
        if tc:
            q, k, v = rows16(self, q), rows16(self, k), rows16(self, v)
            grid = (-(-sq // TC_BM), h, b)
            shared = (TC_BM + 4 * TC_BN) * (d + 8) * 2
            rel, entry, params = "cuda/attention/alibi_fwd_tc.cu", f"alibi_fwd_tc{d}_{dt.name}", tc_params(dt)
        else:
            q, k, v = dense_last(self, q), dense_last(self, k), dense_last(self, v)
            grid = (-(-sq // SIMT_BM), h, b)
            shared = (SIMT_BM * d + SIMT_BN * (d + 1) + SIMT_BN * d) * 4
            rel, entry, params = "cuda/attention/alibi_fwd.cu", f"alibi_fwd_simt{d}_{dt.name}", t_params(dt)
        args: list[object] = [out, lse, q, k, v, h, hkv, sq]
        if tc:
            args.append(sk)
        args += [*q.strides[:3], *k.strides[:3], *v.strides[:3], float(spec.scale), spec.kv_len, spec.window,
                 int(spec.limited), sl]  # fmt: skip
        launch_smem(self, rel, entry, params, grid, NW * 32, args, shared)
        return out, lse

    def _flash_attention_bwd_alibi(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, slopes: Tensor, spec: AttnSpec
    ) -> tuple[Tensor, Tensor, Tensor]:
        dt = q.dtype
        if dt not in FUSED:
            return _gen_bwd.flash_attention_bwd(self, dout, q, k, v, out, lse, spec, slopes)
        b, h, sq, d = q.shape
        hkv, sk = k.shape[1], k.shape[2]
        dq, dk, dv = self._new(q.shape, dt), self._new(k.shape, dt), self._new(k.shape, dt)
        if b * h == 0:
            return dq, dk, dv
        from .attention import bwd_inputs, bwd_plan  # alibi_bwd_tc.cu (f16/bf16, D 64/128) or alibi_bwd.cu

        sl = slopes_f32(self, slopes)
        plan = bwd_plan("alibi", dt, d)
        q, k, v, dout, out = bwd_inputs(self, plan, (q, k, v, dout, out))
        lse = (lse if lse.dtype is _dt.f32 else self.cast(lse, _dt.f32)).contiguous()
        rel, params, tc = plan.rel, plan.params, plan.tc
        rows = b * h * sq
        delta = self._new((b, h, sq), _dt.f32)
        if rows:
            self._launch(rel, f"bwd_delta{tc}_{dt.name}", params, -(-rows // 4), 128,
                         [delta, dout, out, h, sq, d, *dout.strides[:3], *out.strides[:3], rows])  # fmt: skip
        st = KernelStruct(np.array([*q.strides[:3], *dout.strides[:3], *k.strides[:3], *v.strides[:3]], np.int64))
        opts = [float(spec.scale), spec.kv_len, spec.window, int(spec.limited), sl]
        lens = [sq, sk] if tc else [sq]
        if rows:
            launch_smem(self, rel, f"alibi_bwd_dq{tc}{d}_{dt.name}", params, (-(-sq // plan.qb), h, b), 128,
                        [dq, q, k, v, dout, lse, delta, h, hkv, *lens, st, *opts], plan.dq_smem)  # fmt: skip
        if sk:
            launch_smem(self, rel, f"alibi_bwd_dkdv{tc}{d}_{dt.name}", params, (-(-sk // plan.kb), hkv, b), 128,
                        [dk, dv, q, k, v, dout, lse, delta, h, hkv, sq, sk, st, *opts], plan.dkdv_smem)  # fmt: skip
        return dq, dk, dv


__all__ = ["CudaAttentionAlibi", "alibi_decode", "slopes_f32"]
