"""CUDA KV-cache ops: paged cache writes, paged attention (split-K decode kernel) and KV quantization.

- ``reshape_and_cache``: ``kernels/cuda/kv/reshape_and_cache.cu``, both caches in one launch, elements
  moved as raw bits (the source is cast to the blocks' dtype first when they differ).
- ``rope_reshape_and_cache``: ``kernels/cuda/kv/rope_cache.cu``, one launch rotating q and k of the fused
  QKV rows, writing k and v into the blocks and q in the cache dtype (f32/f16/bf16 in and out, f32 tables);
  f64 inputs or tables run the generic composite.
- ``paged_attention_fwd``: the split-K decode kernels with block-table addressing
  (``attention/flash_decode_tc.cu`` ``paged_decode_tc<D>`` for f16/bf16 on tensor cores,
  ``attention/flash_decode.cu`` ``paged_decode<D>`` for f32), the context length and table read on the
  device, then the combine.
- ``quantize_kv`` / ``dequantize_kv``: ``kernels/cuda/kv/kv_quant.cu`` (fp8 e4m3 / int8 per row, int4 per
  group), bit-identical to the generic composite.
Slot, position and block-table values are clamped into range (GPU index policy), never checked on the host.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import dtype as _dt
from ...runtime.cuda.kernels import KernelStruct
from ...tensor import Tensor
from ..generic import kv_cache as _gen
from ..generic import kv_cache_quant as _genq
from ..generic import rope_cache as _gen_rc
from ..traits.kv_cache import KvCacheOps
from ..traits.kv_cache_quant import KvCacheQuantOps
from ._util import CTYPE, CudaHookBase, t_params
from .attention import (
    DEC_TC,
    DEC_TC_KEYS,
    DEC_TC_PER_SM,
    DEC_TC_ROWS,
    NW,
    decode_rmax,
    decode_splits,
    decode_tc_smem,
    launch_smem,
    rows16,
    run_combine,
    scratch,
    tc_params,
    vec_ok,
)

FUSED = (_dt.f32, _dt.f16, _dt.bf16)
QUANT_IN = (_dt.f64, _dt.f32, _dt.f16, _dt.bf16)
UINT = {1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "u64"}


def rc_params(itemsize: int) -> tuple[tuple[str, object], ...]:
    return (("W", itemsize), ("U", UINT[itemsize]))


def rope_cache_params(src: _dt.DType, cache: _dt.DType) -> tuple[tuple[str, object], ...]:
    """Template parameters of ``kv/rope_cache.cu`` for qkv dtype ``src`` and cache dtype ``cache``."""
    return (("T", CTYPE[src]), ("N", src.name), ("C", CTYPE[cache]), ("CN", cache.name))


def _i64(c: Any, t: Tensor) -> Tensor:
    return (t if t.dtype is _dt.i64 else c.cast(t, _dt.i64)).contiguous()


class CudaKvCache(KvCacheOps, CudaHookBase):
    """Overrides of the KV-cache trait hooks (subclassing the trait keeps this mixin ahead of it)."""

    def _reshape_and_cache(self, k: Tensor, v: Tensor, k_blocks: Tensor, v_blocks: Tensor, slots: Tensor) -> None:
        n, bs, hkv, d = k_blocks.shape
        if k.dtype is not k_blocks.dtype:  # k and v may differ in dtype: each is cast on its own
            k = self.cast(k, k_blocks.dtype)
        if v.dtype is not v_blocks.dtype:
            v = self.cast(v, v_blocks.dtype)
        t = k.shape[0]
        st = KernelStruct(np.array([*k.strides, *v.strides], np.int64))
        isz = k_blocks.dtype.itemsize
        args = [k_blocks, v_blocks, k, v, _i64(self, slots), t, hkv, d, n * bs, st]
        self._launch_flat("cuda/kv/reshape_and_cache.cu", f"reshape_and_cache_b{isz}", rc_params(isz), t * hkv * d,
                          args)  # fmt: skip

    def _rope_reshape_and_cache(
        self, qkv: Tensor, cos: Tensor, sin: Tensor, positions: Tensor, k_blocks: Tensor, v_blocks: Tensor,
        slots: Tensor, num_heads: int, num_kv_heads: int, interleaved: bool,
    ) -> Tensor:  # fmt: skip
        h, hkv, cdt = num_heads, num_kv_heads, k_blocks.dtype
        if qkv.dtype not in FUSED or cdt not in FUSED or cos.dtype is not _dt.f32 or sin.dtype is not _dt.f32:
            return _gen_rc.rope_reshape_and_cache(
                self, qkv, cos, sin, positions, k_blocks, v_blocks, slots, h, hkv, interleaved
            )
        n, bs, _, d = k_blocks.shape
        b, s, _ = qkv.shape
        q = self._new((b, h, s, d), cdt)
        pos = _i64(self, positions)
        xs = KernelStruct(np.array(qkv.strides, np.int64))
        args = [q, k_blocks, v_blocks, qkv, cos.contiguous(), sin.contiguous(), pos, _i64(self, slots), b, s, h, hkv,
                d, xs, cos.shape[0], s if pos.ndim == 2 else 0, n * bs, int(interleaved)]  # fmt: skip
        params = rope_cache_params(qkv.dtype, cdt)
        self._launch_flat("cuda/kv/rope_cache.cu", f"rope_reshape_and_cache_{qkv.dtype.name}_{cdt.name}", params,
                          b * s * (h + 2 * hkv) * (d // 2), args)  # fmt: skip
        return q

    def _paged_attention_fwd(
        self, q: Tensor, k_blocks: Tensor, v_blocks: Tensor, block_table: Tensor, context_lens: Tensor,
        scale: float, causal: bool,
    ) -> Tensor:  # fmt: skip
        dt = q.dtype
        if dt not in FUSED:
            return _gen.paged_attention_fwd(self, q, k_blocks, v_blocks, block_table, context_lens, scale, causal)
        b, h, sq, d = q.shape
        n, bs, hkv, _ = k_blocks.shape
        out = self._new(q.shape, dt)
        if out.numel == 0:
            return out
        table, lens = _i64(self, block_table), _i64(self, context_lens)
        mb = table.shape[1]
        rg = -(-((h // hkv) * sq) // decode_rmax(d, dt))
        rows = b * h * sq
        if dt in DEC_TC and mb * bs < 2**31:  # the tensor-core kernel divides key indices in 32 bits
            q, kb, vb = rows16(self, q), rows16(self, k_blocks.contiguous()), rows16(self, v_blocks.contiguous())
            splits, chunk = decode_splits(self, mb * bs, b * hkv * rg, DEC_TC_KEYS, DEC_TC_PER_SM)
            pm, pl, pacc = scratch(self, rows, splits, d)
            args = [pm.data.ptr, pl.data.ptr, pacc.data.ptr, q, kb, vb, table, lens, h, hkv, sq, *q.strides[:3], chunk,
                    n, bs, mb, int(causal), float(scale)]  # fmt: skip
            launch_smem(self, "cuda/attention/flash_decode_tc.cu", f"paged_decode_tc{d}_{dt.name}", tc_params(dt),
                        (hkv * rg, splits, b), NW * 32, args,
                        decode_tc_smem(d, min((h // hkv) * sq, DEC_TC_ROWS)))  # fmt: skip
            run_combine(self, out, None, pm, pl, pacc, rows, splits, d)
            return out
        q = q if q.strides[-1] == 1 else self.copy(q)
        kb, vb = k_blocks.contiguous(), v_blocks.contiguous()
        splits, chunk = decode_splits(self, mb * bs, b * hkv * rg)
        np_ = splits * NW
        pm, pl, pacc = scratch(self, rows, np_, d)
        vec = vec_ok(d, dt.itemsize, [q, kb, vb], [*q.strides[:3], hkv * d])
        args = [pm.data.ptr, pl.data.ptr, pacc.data.ptr, q, kb, vb, table, lens, h, hkv, sq, *q.strides[:3], chunk, n,
                bs, mb, int(causal), float(scale), int(vec)]  # fmt: skip
        self._launch("cuda/attention/flash_decode.cu", f"paged_decode{d}_{dt.name}", t_params(dt),
                     (splits, hkv * rg, b), NW * 32, args)  # fmt: skip
        run_combine(self, out, None, pm, pl, pacc, rows, np_, d)
        return out


class CudaKvCacheQuant(KvCacheQuantOps, CudaHookBase):
    """Overrides of the KV-quantization trait hooks."""

    def _quantize_kv(self, x: Tensor, fmt: str, group: int) -> tuple[Tensor, Tensor, Tensor | None]:
        if x.dtype not in QUANT_IN:
            return _genq.quantize(self, x, fmt, group)
        x = x.contiguous()
        lead, d = x.shape[:-1], x.shape[-1]
        rows = x.numel // d
        rel, params = "cuda/kv/kv_quant.cu", t_params(x.dtype)
        if fmt in ("fp8_e4m3", "int8"):
            data = self._new(x.shape, _dt.fp8_e4m3 if fmt == "fp8_e4m3" else _dt.i8)
            scale = self._new(lead, _dt.f32)
            self._launch(rel, f"kv_quant_row_{x.dtype.name}", params, rows, 128,
                         [data, scale, x, d, int(fmt == "fp8_e4m3")])  # fmt: skip
            return data, scale, None
        data = self._new((*lead, d // 2), _dt.u8)
        scale, zero = self._new((*lead, d // group), _dt.f32), self._new((*lead, d // group), _dt.f32)
        self._launch(rel, f"kv_quant_int4_{x.dtype.name}", params, rows, 128, [data, scale, zero, x, d, group])
        return data, scale, zero

    def _dequantize_kv(
        self, data: Tensor, scale: Tensor, zero: Tensor | None, fmt: str, group: int, dtype: _dt.DType
    ) -> Tensor:
        if dtype not in QUANT_IN:
            return _genq.dequantize(self, data, scale, zero, fmt, group, dtype)
        data = data.contiguous()
        scale = (scale if scale.dtype is _dt.f32 else self.cast(scale, _dt.f32)).contiguous()
        lead = data.shape[:-1]
        d = data.shape[-1] * (2 if fmt == "int4" else 1)
        out = self._new((*lead, d), dtype)
        rows = out.numel // d if d else 0
        if out.numel == 0:
            return out
        rel, params = "cuda/kv/kv_quant.cu", t_params(dtype)
        if fmt == "int4":
            assert zero is not None
            zero = (zero if zero.dtype is _dt.f32 else self.cast(zero, _dt.f32)).contiguous()
            self._launch_flat(rel, f"kv_dequant_int4_{dtype.name}", params, rows * d // 2,
                              [out, data, scale, zero, rows, d, group])  # fmt: skip
        else:
            self._launch_flat(rel, f"kv_dequant_row_{dtype.name}", params, rows * d,
                              [out, data, scale, rows, d, int(fmt == "int8")])  # fmt: skip
        return out
