"""A KV cache in the paged layout whose per-step positions live on the device.

Every position-dependent input of a forward step — RoPE position ids, the cache slots the new
keys go to, the context length attention reads — is a device tensor here, so one captured
CUDA graph of a decode step replays at every position (``boostr.inference.cuda_graph``).
It serves prefill too (``paged_attention_fwd`` is causal over the last ``S`` positions).

Layout (per layer): ``k_blocks, v_blocks [B * nb, block_size, H_kv, D]`` with
``nb = ceil(max_len / block_size)``; sequence ``b`` owns blocks ``b * nb .. (b + 1) * nb - 1``
(``block_table [B, nb]``), so position ``p`` of sequence ``b`` is slot
``(b * nb) * block_size + p``. The step state is one int tensor ``[3 B S]`` (default int):
``positions [B, S]`` (``pos .. pos + S - 1``), ``slots [B * S]`` and ``context_lens [B]``
(``pos + S``) are views of it; a step of the same ``S`` rewrites it in place (stable addresses).
Sliding windows are not supported by the paged kernels: a windowed model refuses this cache.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtype as _dt
from ..errors import InvalidArgument
from ..tensor import Tensor


class PagedKVCache:
    """``PagedKVCache(client, n_layers, batch, n_kv_heads, max_len, head_dim, dtype=f32, block_size=16)``."""

    paged = True

    def __init__(
        self, client: Any, n_layers: int, batch: int, n_kv_heads: int, max_len: int, head_dim: int,
        dtype: Any = _dt.f32, block_size: int = 16,
    ) -> None:  # fmt: skip
        if max_len <= 0 or batch <= 0:
            raise InvalidArgument("max_len", f"expected positive batch and max_len, received {batch}, {max_len}")
        if not isinstance(block_size, int) or block_size <= 0:
            raise InvalidArgument("block_size", f"expected a positive int, received {block_size!r}")
        self.client = client
        self.batch = int(batch)
        self.max_len = int(max_len)
        self.block_size = block_size
        self.dtype = _dt.dtype(dtype)
        self.nb = -(-self.max_len // block_size)
        shape = (self.batch * self.nb, block_size, n_kv_heads, head_dim)
        self.k_blocks: list[Tensor] = [client.zeros(*shape, dtype=self.dtype) for _ in range(n_layers)]
        self.v_blocks: list[Tensor] = [client.zeros(*shape, dtype=self.dtype) for _ in range(n_layers)]
        table = np.arange(self.batch * self.nb, dtype=np.int64).reshape(self.batch, self.nb)
        self.block_table = client.from_numpy(table, client.default_int)
        self.length = 0
        self._state: Tensor | None = None
        self._state_s = -1
        self._prepared: tuple[int, int] | None = None
        self.positions: Tensor | None = None
        self.slots: Tensor | None = None
        self.context_lens: Tensor | None = None

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.k_blocks) + sum(t.nbytes for t in self.v_blocks)

    def check_room(self, n_new: int) -> None:
        """InvalidArgument unless ``n_new`` more positions fit."""
        if self.length + n_new > self.max_len:
            raise InvalidArgument(
                "cache", f"{self.length} + {n_new} positions exceed the cache's max_len {self.max_len}"
            )

    def state_host(self, s: int) -> np.ndarray:
        """The step state for ``s`` new positions at ``self.length``: ``[positions | slots | context_lens]``."""
        b, pos = self.batch, self.length
        p = np.arange(pos, pos + s, dtype=np.int64)
        positions = np.broadcast_to(p, (b, s))
        slots = (np.arange(b, dtype=np.int64)[:, None] * self.nb * self.block_size + p[None, :]).reshape(-1)
        ctx = np.full(b, pos + s, dtype=np.int64)
        return np.concatenate([positions.reshape(-1), slots, ctx])

    def prepare(self, s: int) -> None:
        """Write the device state of a step of ``s`` positions at ``length`` (in place when ``s``
        repeats; nothing when that state is already written)."""
        if self._prepared == (self.length, s):
            return
        self.check_room(s)
        c = self.client
        host = self.state_host(s)
        self._prepared = (self.length, s)
        if self._state is None or self._state_s != s:
            st = c.from_numpy(host, c.default_int)
            b = self.batch
            self._state, self._state_s = st, s
            self.positions = st.narrow(0, 0, b * s).reshape(b, s)
            self.slots = st.narrow(0, b * s, b * s)
            self.context_lens = st.narrow(0, 2 * b * s, b)
        else:
            c._k_copy(c.from_numpy(host, c.default_int), self._state)

    def advance(self, n: int) -> None:
        """Mark ``n`` more positions filled (after every layer wrote them)."""
        self.check_room(n)
        self.length += n

    def truncate(self, length: int) -> None:
        """Forget positions at and after ``length`` (their slots are overwritten later)."""
        if not 0 <= length <= self.length:
            raise InvalidArgument("length", f"expected an int in [0, {self.length}], received {length}")
        self.length = length

    def reset(self) -> None:
        self.length = 0

    def attend(self, attn: Any, x: Tensor, layer: int) -> Tensor:
        """``attn`` (an ``nn.Attention``) over this cache for ``x [B, S, E]`` at the prepared positions:
        q/k rotated at ``positions``, k/v stored at ``slots``, causal attention over ``context_lens``.
        With a fused QKV projection and RoPE, the rotation, the cache write and q's cast to the cache
        dtype are one ``rope_reshape_and_cache`` op."""
        if attn.window:
            raise InvalidArgument("cache", "the paged KV cache has no sliding-window attention; use KVCache")
        if self.positions is None or self._state_s != x.shape[1]:
            raise InvalidArgument("cache", f"prepare({x.shape[1]}) the cache before a step of {x.shape[1]} positions")
        c = x.client
        b, s, _ = x.shape
        kb, vb = self.k_blocks[layer], self.v_blocks[layer]
        rope = attn._rope
        if attn._qkv is not None and rope is not None:  # one op: RoPE, the cache write and q in the cache dtype
            assert rope._cos is not None and rope._sin is not None
            q = c.rope_reshape_and_cache(attn._qkv(x), rope._cos, rope._sin, self.positions, kb, vb, self.slots,
                                         num_heads=attn.n_heads, num_kv_heads=attn.n_kv_heads,
                                         interleaved=rope.interleaved)  # fmt: skip
            out = c.paged_attention_fwd(q, kb, vb, self.block_table, self.context_lens, causal=True)
            return attn._project_out(out, x)  # type: ignore[no-any-return]
        q, k, v = attn._qkv_heads(x, self.positions)
        hkv, d = k.shape[1], k.shape[3]
        kt = c.contiguous(k.permute(0, 2, 1, 3)).reshape(b * s, hkv, d)
        vt = c.contiguous(v.permute(0, 2, 1, 3)).reshape(b * s, hkv, d)
        c.reshape_and_cache(kt, vt, kb, vb, self.slots)
        if kb.dtype is not q.dtype:
            q = c.cast(q, kb.dtype)
        out = c.paged_attention_fwd(q, kb, vb, self.block_table, self.context_lens, causal=True)
        return attn._project_out(out, x)  # type: ignore[no-any-return]


__all__ = ["PagedKVCache"]
