"""Indexing primitives: gather, scatter, scatter_add, index_select, embedding.

Index tensors are i32 or i64 (other integer dtypes are cast). Index values out
of range: the CPU raises InvalidArgument; GPU backends clamp into range so no
access leaves the buffer (a check would need a host round trip).
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidArgument
from ...tensor import Tensor, normalize_dim
from ._base import TraitBase


class IndexingOps(TraitBase):
    """gather / scatter / index_select / embedding."""

    def gather(self, x: Tensor, dim: int, index: Any) -> Tensor:
        """``out[i][j] = x[index[i][j]][j]`` for dim 0 (torch.gather); out has index's shape.

        Layout: ``index`` has x's number of dims and ``index.shape[d] <= x.shape[d]`` for ``d != dim``.
        """
        self._check_tensor("x", x)
        idx = self._index_tensor("index", index)
        d = normalize_dim(dim, x.ndim)
        if idx.ndim != x.ndim:
            raise InvalidArgument("index", f"expected {x.ndim} dims like x, received shape {idx.shape}")
        for i, (a, b) in enumerate(zip(idx.shape, x.shape, strict=True)):
            if i != d and a > b:
                raise InvalidArgument("index", f"dim {i} has size {a} > x's {b} (shape {idx.shape} vs {x.shape})")
        if idx.numel and x.shape[d] == 0:
            raise InvalidArgument("x", f"cannot gather from an empty dim {d}")
        out = self._new(idx.shape, x.dtype)
        if out.numel:
            self._k_gather(x.contiguous(), d, idx, out)
        return out

    def _scatter(self, x: Tensor, dim: int, index: Any, src: Tensor, accumulate: bool) -> Tensor:
        self._check_tensor("x", x)
        self._check_tensor("src", src)
        idx = self._index_tensor("index", index)
        d = normalize_dim(dim, x.ndim)
        if idx.ndim != x.ndim or src.ndim != x.ndim:
            raise InvalidArgument(
                "index", f"expected index and src with {x.ndim} dims, received {idx.shape}, {src.shape}"
            )
        for i in range(x.ndim):
            if idx.shape[i] > src.shape[i] or (i != d and idx.shape[i] > x.shape[i]):
                raise InvalidArgument(
                    "index", f"shape {idx.shape} does not fit src {src.shape} / x {x.shape} at dim {i}"
                )
        if accumulate:
            self._check_compute("scatter_add", x.dtype)
        out = self.copy(x)
        if idx.numel:
            s = src if src.shape == idx.shape else src[tuple(slice(0, n) for n in idx.shape)]
            self._k_scatter(out, d, idx, self.cast(s, x.dtype).contiguous(), accumulate)
        return out

    def scatter(self, x: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
        """A copy of x with ``out[index[i] at dim] = src[i]`` (torch.scatter, not in place)."""
        return self._scatter(x, dim, index, src, False)

    def scatter_add(self, x: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
        """A copy of x with ``out[index[i] at dim] += src[i]`` (duplicates accumulate)."""
        return self._scatter(x, dim, index, src, True)

    def index_select(self, x: Tensor, dim: int, index: Any) -> Tensor:
        """Rows of ``x`` along ``dim`` at the 1-D ``index``."""
        self._check_tensor("x", x)
        idx = self._index_tensor("index", index)
        if idx.ndim != 1:
            raise InvalidArgument("index", f"expected a 1-D index, received shape {idx.shape}")
        d = normalize_dim(dim, x.ndim)
        if idx.numel and x.shape[d] == 0:
            raise InvalidArgument("x", f"cannot select from an empty dim {d}")
        shape = list(x.shape)
        shape[d] = idx.shape[0]
        out = self._new(shape, x.dtype)
        if out.numel:
            self._k_index_select(x.contiguous(), d, idx, out)
        return out

    def embedding(self, weight: Tensor, ids: Any) -> Tensor:
        """Embedding lookup: ``weight [V, D]`` at ``ids [...]`` gives ``[..., D]``."""
        self._check_tensor("weight", weight)
        if weight.ndim != 2:
            raise InvalidArgument("weight", f"expected a [V, D] table, received shape {weight.shape}")
        idx = self._index_tensor("ids", ids)
        flat = self.index_select(weight, 0, idx.reshape(-1) if idx.numel else idx.reshape(0))
        return flat.reshape(*idx.shape, weight.shape[1])
