"""wgpu KV-cache ops: paged attention and paged cache writes in WGSL.

- ``paged_attention_fwd``: the flash forward kernel (``attention/flash_fwd.wgsl``) with ``PAGED``:
  keys are looked up through the block table on the device, the context length of each sequence is
  read on the device, and long contexts are split across workgroups and merged by log-sum-exp.
- ``reshape_and_cache``: ``kv/reshape_and_cache.wgsl``, one thread per element, both caches in one
  dispatch (the generic composite rewrites the whole cache through cat/scatter/copy).
- ``rope_reshape_and_cache``: ``kv/rope_cache.wgsl``, one dispatch rotating q and k of the fused QKV rows,
  writing k and v into the blocks and q in the cache dtype. It binds 9 storage buffers (the parameter
  block included): an adapter allowing fewer per shader stage takes the generic composite.
- ``quantize_kv`` / ``dequantize_kv`` (fp8_e4m3, int8, int4) live in ``kv_cache_quant.py``.
- ``kv_cache_update`` has no backend hook: its generic body is one strided copy kernel per cache.
Slot, position and block-table values are clamped into range (GPU index policy), never checked on the host.
"""

from __future__ import annotations

from typing import Any

from ...tensor import Tensor
from ..generic.attention_mask import AttnSpec
from ..traits.kv_cache import KvCacheOps
from ._kern import decl, kernel, launch
from .attention import fusable, run_fwd


def _bind(t: Tensor) -> tuple[Any, int, int]:
    return (t.storage.buffer, 0, t.storage.buffer.size)


def _bindable(client: Any, *ts: Tensor) -> bool:
    return all(t.storage.buffer.size <= client.max_binding for t in ts)


class WgpuKvCache(KvCacheOps):
    """Overrides of the KV-cache trait hooks (subclassing the traits keeps this
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

    def _rope_reshape_and_cache(
        self, qkv: Tensor, cos: Tensor, sin: Tensor, positions: Tensor, k_blocks: Tensor, v_blocks: Tensor,
        slots: Tensor, num_heads: int, num_kv_heads: int, interleaved: bool,
    ) -> Tensor:  # fmt: skip
        h, hkv = num_heads, num_kv_heads
        n, bs, _, d = k_blocks.shape
        b, s, _ = qkv.shape
        ins = (qkv, cos, sin, positions, slots)
        room = self.limits.get("max-storage-buffers-per-shader-stage", 8) >= 9  # type: ignore[attr-defined]
        q = self._new((b, h, s, d), k_blocks.dtype)  # type: ignore[attr-defined]
        if not (room and fusable(self, (qkv, cos, sin, k_blocks)) and _bindable(self, *ins, q, k_blocks, v_blocks)):
            return super()._rope_reshape_and_cache(
                qkv, cos, sin, positions, k_blocks, v_blocks, slots, h, hkv, interleaved
            )
        names = ("qkv", "cos", "sin", "pos", "slots", "q", "kb", "vb")
        ts = (*ins, q, k_blocks, v_blocks)
        decls = "\n".join(decl(nm, i, t.dtype, "w" if i > 4 else "r") for i, (nm, t) in enumerate(zip(names, ts)))
        kern = kernel(self, "wgsl/kv/rope_cache.wgsl", "main", "rrrrrwww", decls)
        total = b * s * (h + 2 * hkv) * (d // 2)
        words = [total, (h + 2 * hkv) * (d // 2), d // 2, h, hkv, s, qkv.offset, *qkv.strides, cos.offset,
                 *cos.strides, sin.offset, *sin.strides, positions.offset, s if positions.ndim == 2 else 0,
                 cos.shape[0], slots.offset, n * bs, k_blocks.offset, v_blocks.offset, q.offset,
                 int(interleaved)]  # fmt: skip
        launch(self, kern, [_bind(t) for t in ts], words, -(-total // 256))
        return q
