"""Greedy decode steps replayed from one captured CUDA graph (CuPy stream capture).

A decode step launches a few hundred small kernels; launched one by one from Python their
host cost dominates small and mid-size models. ``CudaGraphDecoder`` records one step — the
model forward over a ``PagedKVCache`` (whose positions, slots and context lengths are device
tensors) and the argmax — once, then replays it per token with a single ``cudaGraphLaunch``.

Per step: the cache's device state is rewritten in place (one small upload + copy on the
decoder's stream), the graph is launched, and the token id is read back (the one sync of
a step). The step's input token buffer is fed inside the graph from the argmax, so nothing
else crosses the bus. Intermediate tensors come from a private CuPy memory pool kept alive with
the graph, so their addresses (baked into the graph) are never handed to other work.
Only greedy decoding without penalties is captured (sampling draws from a host-side Philox
offset); ``generate`` uses it automatically on CUDA and falls back to eager steps otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgument
from ..nn.paged_cache import PagedKVCache
from ..tensor import Tensor


class CudaGraphDecoder:
    """``CudaGraphDecoder(model, cache)``; ``step(token)`` -> next greedy token id (int)."""

    def __init__(self, model: Any, cache: PagedKVCache) -> None:
        c = model.client
        if c.kind != "cuda":
            raise InvalidArgument("model", f"CUDA graphs need a model on the CUDA backend, not {c.kind}")
        if not isinstance(cache, PagedKVCache) or cache.batch != 1:
            raise InvalidArgument("cache", "expected a PagedKVCache of batch 1 (model.new_cache(..., paged=True))")
        cp = c.cp
        self.model, self.cache, self.client = model, cache, c
        self.pool = cp.cuda.MemoryPool()
        self.stream = cp.cuda.Stream(non_blocking=True)
        self.ids: Tensor = c.zeros(1, 1, dtype=c.default_int)
        self.token: Tensor | None = None
        self.graph: Any = None
        self.replays = 0

    def _body(self) -> Tensor:
        """One decode step on ``self.ids``: logits -> argmax, which is also copied into ``self.ids``."""
        c = self.client
        logits = self.model(self.ids, self.cache)
        tok = c.argmax(logits.reshape(-1), 0).reshape(1, 1)
        c._k_copy(tok, self.ids)
        return tok

    def _feed(self, token: int) -> None:
        c = self.client
        c._k_copy(c.from_numpy(np.asarray([[int(token)]], dtype=np.int64), c.default_int), self.ids)

    def _capture(self, token: int) -> None:
        """Warm up one eager step (compiles kernels, fills the private pool), then record it."""
        cache = self.cache
        length = cache.length
        self._feed(token)
        cache.prepare(1)
        self._body()
        cache.truncate(length)  # the model advanced the cache; the replay does that
        self.stream.synchronize()
        self.stream.begin_capture()
        try:
            self.token = self._body()
        finally:
            self.graph = self.stream.end_capture()
            cache.truncate(length)
        self._fed = -1

    def step(self, token: int) -> int:
        """Feed ``token`` at the cache's next position; return the greedy next token."""
        cp, cache = self.client.cp, self.cache
        cache.check_room(1)
        with self.stream, cp.cuda.using_allocator(self.pool.malloc):
            if self.graph is None:
                self._capture(token)
            if token != self._fed:  # the graph feeds its own argmax; anything else is uploaded
                self._feed(token)
            cache.prepare(1)
            self.graph.launch(self.stream)
            self.stream.synchronize()
            assert self.token is not None
            out = int(self.token.item())
        cache.advance(1)
        self.replays += 1
        self._fed = out
        return out

    _fed = -1


__all__ = ["CudaGraphDecoder"]
