"""KVCache: a contiguous key/value cache for every layer of a decoder.

Layout: per layer ``k, v [B, H_kv, S_max, D]`` (allocated once, written in place with
``client.kv_cache_update``); ``length`` is the number of positions filled, the same for
every layer. Attention reads the first ``length`` positions through ``kv_seq_len``
(no copy). A sliding-window model still keeps every position (no ring buffer).
"""

from __future__ import annotations

from typing import Any

from .. import dtype as _dt
from ..errors import InvalidArgument
from ..tensor import Tensor


class KVCache:
    """``KVCache(client, n_layers, batch, n_kv_heads, max_len, head_dim, dtype=f32)``."""

    def __init__(
        self, client: Any, n_layers: int, batch: int, n_kv_heads: int, max_len: int, head_dim: int,
        dtype: Any = _dt.f32,
    ) -> None:  # fmt: skip
        if max_len <= 0 or batch <= 0:
            raise InvalidArgument("max_len", f"expected positive batch and max_len, received {batch}, {max_len}")
        self.client = client
        self.max_len = int(max_len)
        self.dtype = _dt.dtype(dtype)
        shape = (batch, n_kv_heads, self.max_len, head_dim)
        self.k: list[Tensor] = [client.zeros(*shape, dtype=self.dtype) for _ in range(n_layers)]
        self.v: list[Tensor] = [client.zeros(*shape, dtype=self.dtype) for _ in range(n_layers)]
        self.length = 0

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.k) + sum(t.nbytes for t in self.v)

    def check_room(self, n_new: int) -> None:
        """InvalidArgument unless ``n_new`` more positions fit."""
        if self.length + n_new > self.max_len:
            raise InvalidArgument(
                "cache", f"{self.length} + {n_new} positions exceed the cache's max_len {self.max_len}"
            )

    def write(self, layer: int, k: Tensor, v: Tensor, pos: int) -> None:
        """Store ``k, v [B, H_kv, S_new, D]`` at positions ``pos ..`` of ``layer`` (in place)."""
        self.client.kv_cache_update(self.k[layer], self.v[layer], k, v, pos)

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


__all__ = ["KVCache"]
