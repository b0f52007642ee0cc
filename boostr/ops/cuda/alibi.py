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

from ... import dtype as _dt
from ...tensor import Tensor
from ..generic import attention as _gen
from ..generic.attention_mask import AttnSpec
from ..traits.attention import AttentionOps
from ._util import CudaHookBase, t_params
from .attention import (
    FUSED,
    NW,
    SIMT_BM,
    SIMT_BN,
    TC_BM,
    TC_BN,
    TC_DIMS,
    dense_last,
    launch_smem,
    rows16,
    run_bwd,
    run_decode,
    tc_params,
)  # fmt: skip


def slopes_f32(c: CudaHookBase, slopes: Tensor) -> Tensor:
    """``slopes [H]`` as a contiguous f32 tensor (a device cast / copy only when needed)."""
    sl = slopes if slopes.dtype is _dt.f32 else c.cast(slopes, _dt.f32)
    return sl.contiguous()


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
            run_decode(self, q, k, v, spec, out, lse, sl)
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
        return run_bwd(self, dout, q, k, v, out, lse, spec, slopes, slopes_f32)


__all__ = ["CudaAttentionAlibi", "slopes_f32"]
