"""KV cache ops: contiguous cache update, paged cache writes (vLLM ``reshape_and_cache``), the fused
RoPE + paged cache write of a decode step (``rope_reshape_and_cache``), paged attention.

Backends override ``_reshape_and_cache``, ``_rope_reshape_and_cache`` and ``_paged_attention_fwd``;
the defaults are the generic composites of ``boostr/ops/generic/kv_cache.py`` and
``boostr/ops/generic/rope_cache.py``. Slot and block-table values are
device data: the CPU validates them (InvalidArgument); GPU backends clamp them into range
(as the indexing primitives do) because a check would need a host round trip.
"""

from __future__ import annotations

import math
from typing import Any

from ...errors import InvalidArgument
from ...tensor import Tensor
from ..generic import kv_cache as _gen
from ..generic import rope_cache as _gen_rc
from ._base import TraitBase
from ._util import check_heads
from .attention import SUPPORTED_HEAD_DIMS


class KvCacheOps(TraitBase):
    """kv_cache_update / reshape_and_cache / rope_reshape_and_cache / paged_attention_fwd."""

    def kv_cache_update(self, k_cache: Tensor, v_cache: Tensor, k: Tensor, v: Tensor, pos: int) -> None:
        """Write new keys/values into a contiguous cache, in place.

        Layout:
            k_cache, v_cache: ``[B, H_kv, S_max, D]``
            k, v:             ``[B, H_kv, S_new, D]`` (cast to the cache dtype)
            pos:              Python int, the first position written; ``pos + S_new <= S_max``
        """
        for name, t in (("k_cache", k_cache), ("v_cache", v_cache), ("k", k), ("v", v)):
            self._check_tensor(name, t)
            if t.ndim != 4:
                raise InvalidArgument(name, f"expected 4 dims [B, H_kv, S, D], received shape {t.shape}")
        if v_cache.shape != k_cache.shape:
            raise InvalidArgument("v_cache", f"expected k_cache's shape {k_cache.shape}, received {v_cache.shape}")
        if v.shape != k.shape:
            raise InvalidArgument("v", f"expected k's shape {k.shape}, received {v.shape}")
        b, hkv, smax, d = k_cache.shape
        if (k.shape[0], k.shape[1], k.shape[3]) != (b, hkv, d):
            raise InvalidArgument("k", f"expected [B={b}, H_kv={hkv}, S_new, D={d}], received {k.shape}")
        if not isinstance(pos, int) or isinstance(pos, bool) or pos < 0 or pos + k.shape[2] > smax:
            raise InvalidArgument("pos", f"expected an int with 0 <= pos and pos + {k.shape[2]} <= {smax}, got {pos!r}")
        _gen.kv_cache_update(self, k_cache, v_cache, k, v, pos)

    def reshape_and_cache(self, k: Tensor, v: Tensor, k_blocks: Tensor, v_blocks: Tensor, slot_mapping: Any) -> None:
        """Scatter tokens into a paged cache, in place (vLLM's ``reshape_and_cache``).

        Layout:
            k, v:                ``[T, H_kv, D]`` (cast to the blocks' dtype)
            k_blocks, v_blocks:  ``[num_blocks, block_size, H_kv, D]``, contiguous
            slot_mapping:        ints ``[T]``; ``slot = block * block_size + offset``, -1 skips the token
        """
        for name, t in (("k", k), ("v", v), ("k_blocks", k_blocks), ("v_blocks", v_blocks)):
            self._check_tensor(name, t)
        if k_blocks.ndim != 4 or not k_blocks.is_contiguous():
            raise InvalidArgument("k_blocks", f"expected a contiguous [N, bs, H_kv, D] tensor, got {k_blocks.shape}")
        if v_blocks.shape != k_blocks.shape or not v_blocks.is_contiguous():
            raise InvalidArgument("v_blocks", f"expected a contiguous tensor of shape {k_blocks.shape}")
        if k.ndim != 3 or k.shape[1:] != k_blocks.shape[2:] or v.shape != k.shape:
            raise InvalidArgument("k", f"expected k, v of shape [T, {k_blocks.shape[2]}, {k_blocks.shape[3]}]")
        slots = self._index_tensor("slot_mapping", slot_mapping)
        if slots.shape != (k.shape[0],):
            raise InvalidArgument("slot_mapping", f"expected shape ({k.shape[0]},), received {slots.shape}")
        if k.shape[0] and k_blocks.numel:
            self._reshape_and_cache(k, v, k_blocks, v_blocks, slots)

    def _reshape_and_cache(self, k: Tensor, v: Tensor, k_blocks: Tensor, v_blocks: Tensor, slots: Tensor) -> None:
        """Backend hook (validated shapes); default: the generic composite."""
        _gen.reshape_and_cache(self, k, v, k_blocks, v_blocks, slots)

    def rope_reshape_and_cache(
        self, qkv: Tensor, cos: Tensor, sin: Tensor, positions: Any, k_blocks: Tensor, v_blocks: Tensor,
        slot_mapping: Any, *, num_heads: int, num_kv_heads: int, interleaved: bool = False,
    ) -> Tensor:  # fmt: skip
        """RoPE on q and k of a fused QKV projection, k and v written into a paged cache, q returned:
        ``apply_rope`` + ``reshape_and_cache`` + the cast of q to the cache dtype in one op.

        Layout:
            qkv:                 ``[B, S, (H + 2 H_kv) * D]`` float, any strides (columns: q heads, then
                                 k heads, then v heads, as ``nn.Attention``'s fused projection)
            cos, sin:            ``[S_max, D/2]`` float tables (``nn.RoPE``'s, ``rope_frequencies``)
            positions:           ints ``[B, S]`` or ``[S]``: the table row of each token
            k_blocks, v_blocks:  ``[num_blocks, block_size, H_kv, D]`` contiguous, the cache dtype
            slot_mapping:        ints ``[B * S]`` (token ``b * S + s``); slot = block * block_size + offset,
                                 a negative slot skips the token
            returns              q ``[B, H, S, D]`` contiguous in the cache dtype (``paged_attention_fwd``'s)
        The rotation is ``apply_rope``'s (split halves, or adjacent pairs when ``interleaved``), computed
        in f32 (f64 when an input is f64) and rounded once to the cache dtype; v is stored unrotated.
        Out-of-range positions and slots: InvalidArgument on the CPU, clamped on GPU backends.
        """
        h, hkv = check_heads(num_heads, num_kv_heads)
        for name, t in (("qkv", qkv), ("cos", cos), ("sin", sin), ("k_blocks", k_blocks), ("v_blocks", v_blocks)):
            self._check_tensor(name, t)
        if k_blocks.ndim != 4 or not k_blocks.is_contiguous() or not k_blocks.dtype.is_float:
            got = f"{k_blocks.shape} {k_blocks.dtype}"
            raise InvalidArgument("k_blocks", f"expected a contiguous float [N, bs, H_kv, D] tensor, got {got}")
        if v_blocks.shape != k_blocks.shape or v_blocks.dtype is not k_blocks.dtype or not v_blocks.is_contiguous():
            raise InvalidArgument("v_blocks", f"expected a contiguous {k_blocks.dtype} tensor of k_blocks' shape")
        _, _, bh, d = k_blocks.shape
        if bh != hkv or d % 2 or d == 0:
            raise InvalidArgument("k_blocks", f"expected H_kv={hkv} heads of an even D, received {k_blocks.shape}")
        self._check_compute("rope_reshape_and_cache", k_blocks.dtype)
        if qkv.ndim != 3 or qkv.shape[2] != (h + 2 * hkv) * d or not qkv.dtype.is_float:
            raise InvalidArgument(
                "qkv", f"expected a float [B, S, {(h + 2 * hkv) * d}] tensor, received {qkv.shape} {qkv.dtype}"
            )
        self._check_compute("rope_reshape_and_cache", qkv.dtype)
        b, s, _ = qkv.shape
        for name, t in (("cos", cos), ("sin", sin)):
            if t.ndim != 2 or t.shape[0] == 0 or t.shape[1] != d // 2 or not t.dtype.is_float:
                raise InvalidArgument(name, f"expected a float [S_max >= 1, {d // 2}] table, got {t.shape} {t.dtype}")
        if sin.shape != cos.shape:
            raise InvalidArgument("sin", f"expected cos's shape {cos.shape}, received {sin.shape}")
        pos = self._index_tensor("positions", positions)
        if pos.shape not in ((s,), (b, s)):
            raise InvalidArgument("positions", f"expected shape ({s},) or ({b}, {s}), received {pos.shape}")
        slots = self._index_tensor("slot_mapping", slot_mapping)
        if slots.shape != (b * s,):
            raise InvalidArgument("slot_mapping", f"expected shape ({b * s},), received {slots.shape}")
        if qkv.numel == 0 or k_blocks.numel == 0:
            if k_blocks.numel == 0 and qkv.numel:
                raise InvalidArgument("k_blocks", f"expected at least one non-empty block, received {k_blocks.shape}")
            return self.zeros(b, h, s, d, dtype=k_blocks.dtype)  # type: ignore[no-any-return]
        return self._rope_reshape_and_cache(qkv, cos, sin, pos, k_blocks, v_blocks, slots, h, hkv, bool(interleaved))

    def _rope_reshape_and_cache(
        self, qkv: Tensor, cos: Tensor, sin: Tensor, positions: Tensor, k_blocks: Tensor, v_blocks: Tensor,
        slots: Tensor, num_heads: int, num_kv_heads: int, interleaved: bool,
    ) -> Tensor:  # fmt: skip
        """Backend hook (validated, non-empty inputs); default: the generic composite."""
        return _gen_rc.rope_reshape_and_cache(
            self, qkv, cos, sin, positions, k_blocks, v_blocks, slots, num_heads, num_kv_heads, interleaved
        )

    def paged_attention_fwd(
        self, q: Tensor, k_blocks: Tensor, v_blocks: Tensor, block_table: Any, context_lens: Any, *,
        scale: float | None = None, causal: bool = True,
    ) -> Tensor:  # fmt: skip
        """Attention of new queries over a paged KV cache (decode, or a few speculative tokens).

        Layout:
            q:                   ``[B, H, D]`` (one query per sequence) or ``[B, H, Sq, D]``
            k_blocks, v_blocks:  ``[num_blocks, block_size, H_kv, D]``, ``H % H_kv == 0``
            block_table:         ints ``[B, max_blocks]``: sequence b's t-th key is at
                                 ``block_table[b, t // block_size] * block_size + t % block_size``
            context_lens:        ints ``[B]``, keys per sequence (``<= max_blocks * block_size``)
            returns              q's shape and dtype
        The Sq queries are the last Sq positions of each sequence: query i sits at
        ``ctx_b - Sq + i`` and, when ``causal``, sees keys ``t <= ctx_b - Sq + i``. A sequence
        with no visible key gets 0. ``scale`` defaults to ``1/sqrt(D)``.
        """
        self._check_tensor("q", q)
        if q.ndim not in (3, 4):
            raise InvalidArgument("q", f"expected [B, H, D] or [B, H, Sq, D], received shape {q.shape}")
        q4 = q.unsqueeze(2) if q.ndim == 3 else q
        for name, t in (("k_blocks", k_blocks), ("v_blocks", v_blocks)):
            self._check_tensor(name, t)
            if t.ndim != 4 or t.dtype is not q.dtype:
                raise InvalidArgument(name, f"expected [N, bs, H_kv, D] of {q.dtype}, received {t.shape} {t.dtype}")
        if v_blocks.shape != k_blocks.shape:
            raise InvalidArgument("v_blocks", f"expected k_blocks' shape {k_blocks.shape}, received {v_blocks.shape}")
        b, h, _, d = q4.shape
        n, bs, hkv, dk = k_blocks.shape
        if not q.dtype.is_float:
            raise InvalidArgument("q", f"expected a float tensor, received {q.dtype}")
        self._check_compute("paged_attention_fwd", q.dtype)
        if dk != d or hkv == 0 or h % hkv:
            raise InvalidArgument("k_blocks", f"expected D={d} and H_kv dividing H={h}, received {k_blocks.shape}")
        if d not in SUPPORTED_HEAD_DIMS:
            raise InvalidArgument("q", f"head dim {d} is not supported; expected one of {SUPPORTED_HEAD_DIMS}")
        table = self._index_tensor("block_table", block_table)
        if table.ndim != 2 or table.shape[0] != b or table.shape[1] == 0:
            raise InvalidArgument("block_table", f"expected shape [{b}, max_blocks >= 1], received {table.shape}")
        lens = self._index_tensor("context_lens", context_lens)
        if lens.shape != (b,):
            raise InvalidArgument("context_lens", f"expected shape ({b},), received {lens.shape}")
        if n == 0 or bs == 0:
            raise InvalidArgument("k_blocks", f"expected at least one non-empty block, received {k_blocks.shape}")
        if scale is not None and not (isinstance(scale, (int, float)) and math.isfinite(scale)):
            raise InvalidArgument("scale", f"expected None or a finite float, received {scale!r}")
        sc = 1.0 / math.sqrt(d) if scale is None else float(scale)
        out = self._paged_attention_fwd(q4, k_blocks, v_blocks, table, lens, sc, bool(causal))
        return out.reshape(*q.shape)

    def _paged_attention_fwd(
        self, q: Tensor, k_blocks: Tensor, v_blocks: Tensor, block_table: Tensor, context_lens: Tensor,
        scale: float, causal: bool,
    ) -> Tensor:  # fmt: skip
        """Backend hook: ``q [B, H, Sq, D]``, validated shapes; default: the generic composite."""
        return _gen.paged_attention_fwd(self, q, k_blocks, v_blocks, block_table, context_lens, scale, causal)
