"""wgpu KV-cache ops: paged attention, paged cache writes and fp8 KV quantization in WGSL.

- ``paged_attention_fwd``: the flash forward kernel (``attention/flash_fwd.wgsl``) with ``PAGED``:
  keys are looked up through the block table on the device, the context length of each sequence is
  read on the device, and long contexts are split across workgroups and merged by log-sum-exp.
- ``reshape_and_cache``: ``kv/reshape_and_cache.wgsl``, one thread per element, both caches in one
  dispatch (the generic composite rewrites the whole cache through cat/scatter/copy).
- ``quantize_kv`` / ``dequantize_kv`` for ``fp8_e4m3``: ``kv/fp8_quant.wgsl`` (one workgroup per
  token row: amax, scale, packed codes) and ``kv/fp8_dequant.wgsl``. int8 / int4 need i8 / u8
  storage, which this backend does not have: they run the generic composite (UnsupportedDType).
- ``kv_cache_update`` has no backend hook: its generic body is one strided copy kernel per cache.
Slot and block-table values are clamped into range (GPU index policy), never checked on the host.
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor
from ..generic.attention_mask import AttnSpec
from ..traits.kv_cache import KvCacheOps
from ..traits.kv_cache_quant import KvCacheQuantOps
from ._kern import decl, kernel, launch
from .attention import fusable, run_fwd


def _bind(t: Tensor) -> tuple[Any, int, int]:
    return (t.storage.buffer, 0, t.storage.buffer.size)


def _bindable(client: Any, *ts: Tensor) -> bool:
    return all(t.storage.buffer.size <= client.max_binding for t in ts)


class WgpuKvCache(KvCacheOps, KvCacheQuantOps):
    """Overrides of the KV-cache and KV-quantization trait hooks (subclassing the traits keeps this
    mixin ahead of them in the client's MRO)."""

    def _paged_attention_fwd(
        self, q: Tensor, k_blocks: Tensor, v_blocks: Tensor, block_table: Tensor, context_lens: Tensor,
        scale: float, causal: bool,
    ) -> Tensor:  # fmt: skip
        if fusable(self, (q, k_blocks, v_blocks)) and _bindable(self, k_blocks, v_blocks, block_table, context_lens):
            max_keys = block_table.shape[1] * k_blocks.shape[1]
            spec = AttnSpec(causal, 0, max_keys, scale)
            res = run_fwd(self, q, k_blocks, v_blocks, spec, (block_table, context_lens, max_keys))
            if res is not None:
                return res[0]
        return super()._paged_attention_fwd(q, k_blocks, v_blocks, block_table, context_lens, scale, causal)

    def _reshape_and_cache(self, k: Tensor, v: Tensor, k_blocks: Tensor, v_blocks: Tensor, slots: Tensor) -> None:
        ts = (k, v, slots, k_blocks, v_blocks)
        if not (all(t.dtype.is_float for t in (k, v, k_blocks)) and _bindable(self, *ts)):
            super()._reshape_and_cache(k, v, k_blocks, v_blocks, slots)
            return
        t, hkv, d = k.shape
        names = ("k", "v", "slots", "kb", "vb")
        decls = "\n".join(decl(n, i, x.dtype, "w" if i > 2 else "r") for i, (n, x) in enumerate(zip(names, ts)))
        kern = kernel(self, "wgsl/kv/reshape_and_cache.wgsl", "main", "rrrww", decls)
        n = t * hkv * d
        words = [n, hkv * d, d, k.offset, *k.strides, v.offset, *v.strides, slots.offset,
                 k_blocks.shape[0] * k_blocks.shape[1], k_blocks.offset, v_blocks.offset]  # fmt: skip
        launch(self, kern, [_bind(x) for x in ts], words, -(-n // 256))

    def _quantize_kv(self, x: Tensor, fmt: str, group: int) -> tuple[Tensor, Tensor, Tensor | None]:
        if fmt != "fp8_e4m3" or not fusable(self, (x,)):
            return super()._quantize_kv(x, fmt, group)
        x = x.contiguous()
        lead, d = x.shape[:-1], x.shape[-1]
        rows = x.numel // d
        data, scale = self._new(x.shape, _dt.fp8_e4m3), self._new(lead, _dt.f32)
        if not _bindable(self, x, data, scale):
            return super()._quantize_kv(x, fmt, group)
        decls = "\n".join([decl("x", 0, x.dtype), decl("scale", 1, _dt.f32, "w"), decl("data", 2, data.dtype, "w")])
        kern = kernel(self, "wgsl/kv/fp8_quant.wgsl", "main", "rww", decls, WORDS=str(d % 4 == 0).lower())
        launch(self, kern, [_bind(x), _bind(scale), _bind(data)], [rows, d, x.offset, 0, 0], rows)
        return data, scale, None

    def _dequantize_kv(
        self, data: Tensor, scale: Tensor, zero: Tensor | None, fmt: str, group: int, dtype: _dt.DType
    ) -> Tensor:
        if fmt != "fp8_e4m3" or dtype not in self.compute_dtypes or data.numel == 0:
            return super()._dequantize_kv(data, scale, zero, fmt, group, dtype)
        data, scale = data.contiguous(), scale.contiguous()
        out = self._new(data.shape, dtype)
        if not _bindable(self, data, scale, out):
            return super()._dequantize_kv(data, scale, zero, fmt, group, dtype)
        decls = "\n".join([decl("data", 0, data.dtype), decl("scale", 1, scale.dtype), decl("out", 2, dtype, "w")])
        kern = kernel(self, "wgsl/kv/fp8_dequant.wgsl", "main", "rrw", decls)
        n = data.numel
        launch(self, kern, [_bind(data), _bind(scale), _bind(out)], [n, data.shape[-1], data.offset, scale.offset, 0],
               -(-n // 256))  # fmt: skip
        return out
