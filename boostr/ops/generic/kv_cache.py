"""Generic KV-cache writes and paged attention from primitives.

``reshape_and_cache``: token ``t`` of ``k/v [T, Hkv, D]`` goes to row ``slot[t]`` of the
blocks viewed flat as ``[num_blocks * block_size, Hkv * D]`` (slot = block * block_size +
offset); slot -1 is skipped by sending it to a scratch row past the end.

``paged_attention_fwd``: the keys of sequence b are the rows
``block_table[b, t // bs] * bs + t % bs`` for ``t < context_lens[b]``; they are gathered
with ``index_select`` into ``[B, Hkv, max_blocks * bs, D]`` and attended with an explicit
per-sequence mask: key t is visible to query i iff ``t < ctx_b`` and, when causal,
``t <= i + ctx_b - Sq`` (the queries are the last Sq positions, bottom-right aligned).
The score rows are ``[Sq, max_blocks * bs]``: meant for decode (small Sq).
"""

from __future__ import annotations

from typing import Any

from ...tensor import Tensor
from .attention_mask import work_dtype

NEG_INF = float("-inf")


def reshape_and_cache(c: Any, k: Tensor, v: Tensor, k_blocks: Tensor, v_blocks: Tensor, slots: Tensor) -> None:
    """In place; ``k_blocks/v_blocks`` contiguous ``[N, bs, Hkv, D]``, ``slots [T]`` ints (-1 skips)."""
    n, bs, hkv, d = k_blocks.shape
    rows = n * bs
    t = k.shape[0]
    idx = c.where(c.lt(slots, 0), rows, slots).reshape(t, 1).expand(t, hkv * d)
    for src, blocks in ((k, k_blocks), (v, v_blocks)):
        flat = blocks.reshape(rows, hkv * d)
        ext = c.cat([flat, c.zeros(1, hkv * d, dtype=blocks.dtype)], 0)
        upd = c.scatter(ext, 0, c.contiguous(idx), c.cast(src, blocks.dtype).reshape(t, hkv * d))
        c.slice_assign(flat, upd.narrow(0, 0, rows))


def paged_attention_fwd(
    c: Any, q: Tensor, k_blocks: Tensor, v_blocks: Tensor, block_table: Tensor, context_lens: Tensor,
    scale: float, causal: bool,
) -> Tensor:  # fmt: skip
    """``q [B, H, Sq, D]`` -> out ``[B, H, Sq, D]`` (see the module doc)."""
    b, h, sq, d = q.shape
    n, bs, hkv, _ = k_blocks.shape
    mb = block_table.shape[1]
    g = h // hkv
    length = mb * bs
    wdt = work_dtype(q.dtype)
    table = c.clamp(block_table, 0, n - 1)  # unused table entries may hold anything
    rows = c.add(c.mul(table, bs).reshape(b, mb, 1), c.arange(bs, dtype=table.dtype).reshape(1, 1, bs))
    rows = rows.reshape(b * length)

    def gather(blocks: Tensor) -> Tensor:
        flat = blocks.reshape(n * bs, hkv, d)
        return c.cast(c.index_select(flat, 0, rows), wdt).reshape(b, length, hkv, d).permute(0, 2, 1, 3)

    kk, vv = gather(k_blocks), gather(v_blocks)
    qg = c.mul(c.cast(q, wdt), scale).reshape(b, hkv, g * sq, d)
    s = c.matmul(qg, kk.transpose(-1, -2)).reshape(b, hkv, g, sq, length)
    ctx = c.cast(context_lens, wdt).reshape(b, 1, 1, 1, 1)
    t = c.arange(length, dtype=wdt).reshape(1, 1, 1, 1, length)
    vis = c.lt(t, ctx)
    if causal:
        i = c.arange(sq, dtype=wdt).reshape(1, 1, 1, sq, 1)
        vis = c.logical_and(vis, c.le(c.sub(t, i), c.sub(ctx, float(sq))))
    s = c.where(vis, s, NEG_INF).reshape(b, hkv, g * sq, length)
    m = c.max(s, -1, keepdim=True)
    p = c.exp(c.sub(s, c.where(c.eq(m, NEG_INF), 0.0, m)))
    lsum = c.sum(p, -1, keepdim=True)
    out = c.div(c.matmul(p, vv), c.where(c.eq(lsum, 0.0), 1.0, lsum))
    return c.cast(out.reshape(b, h, sq, d), q.dtype)


def kv_cache_update(c: Any, k_cache: Tensor, v_cache: Tensor, k: Tensor, v: Tensor, pos: int) -> None:
    """In place: ``cache[:, :, pos:pos + S_new] = new`` for both caches (cast to the cache dtype)."""
    s_new = k.shape[2]
    c.slice_assign(k_cache.narrow(2, pos, s_new), k)
    c.slice_assign(v_cache.narrow(2, pos, s_new), v)
