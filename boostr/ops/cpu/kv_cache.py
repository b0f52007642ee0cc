"""CPU KV-cache ops: validated paged writes (numpy scatter into the blocks), the fused RoPE + paged
write (``kernels/cpu/rope_cache.py``: straight into f32 blocks, through an f32 staging buffer for
half caches), the numba paged attention and fp8 e4m3 / int8 / int4 KV quantization.

Slot and block-table values are checked here (InvalidArgument), as the CPU does for
every index; the GPU backends clamp instead.
"""

from __future__ import annotations

import numpy as np

from ... import dtype as _dt
from ...errors import InvalidArgument
from ...kernels.cpu.kv_cache import paged_attention
from ...kernels.cpu.kv_cache_quant import (
    FP8_E4M3_TABLE,
    dequant_fp8,
    dequant_int4,
    dequant_int8,
    quant_fp8,
    quant_int4,
    quant_int8,
)
from ...kernels.cpu.rope_cache import rope_cache_rows
from ...tensor import Tensor
from ..generic import kv_cache as _gen
from ..generic import rope_cache as _gen_rc
from ._view import np_view, store


class CpuKvCache:
    """Overrides of the KV-cache trait's backend methods."""

    def _reshape_and_cache(self, k: Tensor, v: Tensor, k_blocks: Tensor, v_blocks: Tensor, slots: Tensor) -> None:
        n, bs, hkv, d = k_blocks.shape
        sl = np_view(slots).astype(np.int64)
        if ((sl < -1) | (sl >= n * bs)).any():
            raise InvalidArgument("slot_mapping", f"slots must be -1 or in [0, {n * bs}), received {sl.tolist()}")
        keep = sl >= 0
        for src, blocks in ((k, k_blocks), (v, v_blocks)):
            flat = np_view(blocks).reshape(n * bs, hkv, d)
            vals = np_view(src)[keep]
            if src.dtype is not blocks.dtype:  # round like _k_copy: via f32, fp8 e4m3 saturating at +-448
                vals = vals.astype(np.float32)
                if blocks.dtype is _dt.fp8_e4m3:
                    vals = np.clip(vals, -448.0, 448.0)
            flat[sl[keep]] = vals

    def _rope_reshape_and_cache(
        self, qkv: Tensor, cos: Tensor, sin: Tensor, positions: Tensor, k_blocks: Tensor, v_blocks: Tensor,
        slots: Tensor, num_heads: int, num_kv_heads: int, interleaved: bool,
    ) -> Tensor:  # fmt: skip
        h, hkv = num_heads, num_kv_heads
        if any(t.dtype is _dt.f64 for t in (qkv, cos, sin, k_blocks)):
            return _gen_rc.rope_reshape_and_cache(
                self, qkv, cos, sin, positions, k_blocks, v_blocks, slots, h, hkv, interleaved
            )
        n, bs, _, d = k_blocks.shape
        b, s, _ = qkv.shape
        sl = np_view(slots).astype(np.int64)
        if ((sl < -1) | (sl >= n * bs)).any():
            raise InvalidArgument("slot_mapping", f"slots must be -1 or in [0, {n * bs}), received {sl.tolist()}")
        pos = np.ascontiguousarray(np.broadcast_to(np_view(positions).reshape(-1, s), (b, s)), dtype=np.int64)
        if pos.min() < 0 or pos.max() >= cos.shape[0]:
            raise InvalidArgument(
                "positions", f"values must be in [0, {cos.shape[0]}), received [{pos.min()}, {pos.max()}]"
            )
        f32 = np.float32
        xa = np_view(qkv)
        xa = xa if xa.dtype == f32 else xa.astype(f32)
        ca = np.ascontiguousarray(np_view(cos), dtype=f32)
        sa = np.ascontiguousarray(np_view(sin), dtype=f32)
        q = self._new((b, h, s, d), k_blocks.dtype)  # type: ignore[attr-defined]
        direct = k_blocks.dtype is _dt.f32
        qa = np_view(q) if direct else np.empty((b, h, s, d), f32)
        if direct:  # write straight into the blocks
            rows, kd = sl, np_view(k_blocks).reshape(n * bs, hkv, d)
            vd = np_view(v_blocks).reshape(n * bs, hkv, d)
        else:  # rotate into f32 staging rows, then round once into the blocks
            rows = np.where(sl >= 0, np.arange(b * s), -1)
            kd, vd = np.empty((b * s, hkv, d), f32), np.empty((b * s, hkv, d), f32)
        rope_cache_rows(xa, ca, sa, pos, rows, h, hkv, interleaved, qa, kd, vd)
        if not direct:
            keep = sl >= 0
            for src, blocks in ((kd, k_blocks), (vd, v_blocks)):
                np_view(blocks).reshape(n * bs, hkv, d)[sl[keep]] = src[keep]
            store(q, qa)
        return q

    def _paged_attention_fwd(
        self, q: Tensor, k_blocks: Tensor, v_blocks: Tensor, block_table: Tensor, context_lens: Tensor,
        scale: float, causal: bool,
    ) -> Tensor:  # fmt: skip
        n, bs, hkv, d = k_blocks.shape
        table = np_view(block_table).astype(np.int64)
        lens = np_view(context_lens).astype(np.int64)
        mb = table.shape[1]
        if ((lens < 0) | (lens > mb * bs)).any():
            raise InvalidArgument("context_lens", f"values must be in [0, {mb * bs}], received {lens.tolist()}")
        used = np.arange(mb)[None, :] < -(-lens[:, None] // bs)
        if (used & ((table < 0) | (table >= n))).any():
            raise InvalidArgument("block_table", f"entries in use must be in [0, {n}), received {table.tolist()}")
        if q.dtype is _dt.f64:
            return _gen.paged_attention_fwd(self, q, k_blocks, v_blocks, block_table, context_lens, scale, causal)
        f32 = np.float32
        qa = np.ascontiguousarray(np_view(q), dtype=f32)
        ka = np.ascontiguousarray(np_view(k_blocks), dtype=f32).reshape(n * bs, hkv, d)
        va = np.ascontiguousarray(np_view(v_blocks), dtype=f32).reshape(n * bs, hkv, d)
        res = np.empty(qa.shape, f32)
        if res.size:
            paged_attention(qa, ka, va, np.ascontiguousarray(table), lens, bs, f32(scale), causal, res)
        out = self._new(q.shape, q.dtype)  # type: ignore[attr-defined]
        if out.numel:
            store(out, res)
        return out

    def _quantize_kv(self, x: Tensor, fmt: str, group: int) -> tuple[Tensor, Tensor, Tensor | None]:
        lead, d = x.shape[:-1], x.shape[-1]
        xa = np.ascontiguousarray(np_view(x), dtype=np.float32).reshape(-1, d)
        rows = xa.shape[0]
        if fmt == "fp8_e4m3":
            q, s = self._new((*lead, d), _dt.fp8_e4m3), self._new(lead, _dt.f32)  # type: ignore[attr-defined]
            quant_fp8(xa, np_view(q).reshape(rows, d).view(np.uint8), np_view(s).reshape(rows))
            return q, s, None
        if fmt == "int8":
            q, s = self._new((*lead, d), _dt.i8), self._new(lead, _dt.f32)  # type: ignore[attr-defined]
            quant_int8(xa, np_view(q).reshape(rows, d), np_view(s).reshape(rows))
            return q, s, None
        q = self._new((*lead, d // 2), _dt.u8)  # type: ignore[attr-defined]
        s, z = (self._new((*lead, d // group), _dt.f32) for _ in range(2))  # type: ignore[attr-defined]
        ng = d // group
        quant_int4(
            xa, group, np_view(q).reshape(rows, d // 2), np_view(s).reshape(rows, ng), np_view(z).reshape(rows, ng)
        )
        return q, s, z

    def _dequantize_kv(
        self, data: Tensor, scale: Tensor, zero: Tensor | None, fmt: str, group: int, dtype: _dt.DType
    ) -> Tensor:
        lead = data.shape[:-1]
        d = data.shape[-1] * (2 if fmt == "int4" else 1)
        qa = np.ascontiguousarray(np_view(data)).reshape(-1, data.shape[-1])
        sa = np.ascontiguousarray(np_view(scale), dtype=np.float32).reshape(qa.shape[0], -1)
        res = np.empty((qa.shape[0], d), np.float32)
        if fmt == "fp8_e4m3":
            dequant_fp8(qa.view(np.uint8), sa.reshape(-1), FP8_E4M3_TABLE, res)
        elif fmt == "int8":
            dequant_int8(qa, sa.reshape(-1), res)
        else:
            assert zero is not None
            za = np.ascontiguousarray(np_view(zero), dtype=np.float32).reshape(qa.shape[0], -1)
            dequant_int4(qa, sa, za, group, res)
        out = self._new((*lead, d), dtype)  # type: ignore[attr-defined]
        store(out, res.reshape(*lead, d))
        return out
