"""Generic fused RoPE + paged KV-cache write (the definition of ``rope_reshape_and_cache``).

Formula: with ``D`` the head dim and ``W = f32`` (``f64`` when qkv, a table or the cache is f64),
the q and k heads of ``qkv [B, S, (H + 2 H_kv) D]`` are cast to W and rotated by ``apply_rope`` at
``positions``: ``(a, b) -> (a cos - b sin, a sin + b cos)`` over split-half pairs ``(k, k + D/2)``
or interleaved pairs ``(2k, 2k + 1)``. The rotated k and the raw v of token ``t = b * S + s`` go to
row ``slots[t]`` of the blocks viewed as ``[N * bs, H_kv, D]`` (``reshape_and_cache``: negative
slots skip the token), and q is returned as ``[B, H, S, D]`` contiguous in the cache dtype: each
value is rounded once, to the cache dtype.
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor


def rope_reshape_and_cache(
    c: Any, qkv: Tensor, cos: Tensor, sin: Tensor, positions: Tensor, k_blocks: Tensor, v_blocks: Tensor,
    slots: Tensor, h: int, hkv: int, interleaved: bool,
) -> Tensor:  # fmt: skip
    """In place on the blocks; returns q ``[B, H, S, D]`` (see the module doc)."""
    b, s, _ = qkv.shape
    d = k_blocks.shape[3]
    wide = any(t.dtype is _dt.f64 for t in (qkv, cos, sin, k_blocks))
    wdt = _dt.f64 if wide else _dt.f32
    cdt = k_blocks.dtype
    qk = qkv.narrow(2, 0, (h + hkv) * d).reshape(b, s, h + hkv, d).permute(0, 2, 1, 3)
    qk = c.apply_rope(c.cast(qk, wdt), c.cast(cos, wdt), c.cast(sin, wdt), interleaved=interleaved,
                      position_ids=positions)  # fmt: skip
    k = c.contiguous(qk.narrow(1, h, hkv).permute(0, 2, 1, 3)).reshape(b * s, hkv, d)
    v = c.contiguous(qkv.narrow(2, (h + hkv) * d, hkv * d)).reshape(b * s, hkv, d)
    c.reshape_and_cache(k, v, k_blocks, v_blocks, slots)
    return c.contiguous(c.cast(qk.narrow(1, 0, h), cdt))  # type: ignore[no-any-return]
