"""Sorting primitives: sort, argsort, topk along one dim.

Layout: the dim is moved last; the hooks see contiguous ``[R, C]`` rows.
Indices are the default int dtype. Sorting is stable; NaN sorts as the largest.
"""

from __future__ import annotations

from ...errors import InvalidArgument
from ...tensor import Tensor, normalize_dim
from ._base import TraitBase
from ._util import last_dim_rows, rows_back


class SortOps(TraitBase):
    """sort / argsort / topk."""

    def sort(self, x: Tensor, dim: int = -1, descending: bool = False) -> tuple[Tensor, Tensor]:
        """Stable sort along ``dim``: returns ``(values, indices)``."""
        self._check_tensor("x", x)
        if x.ndim:
            normalize_dim(dim, x.ndim)
        self._check_compute("sort", x.dtype)
        x2, pshape = last_dim_rows(x, dim)
        vals = self._new(x2.shape, x.dtype)
        idx = self._new(x2.shape, self.default_int)
        if vals.numel:
            self._k_sort(x2, vals, idx, bool(descending))
        return (
            rows_back(vals, pshape, dim, x.ndim).contiguous(),
            rows_back(idx, pshape, dim, x.ndim).contiguous(),
        )

    def argsort(self, x: Tensor, dim: int = -1, descending: bool = False) -> Tensor:
        return self.sort(x, dim, descending)[1]

    def topk(self, x: Tensor, k: int, dim: int = -1, largest: bool = True) -> tuple[Tensor, Tensor]:
        """The ``k`` largest (or smallest) along ``dim``, sorted: ``(values, indices)``."""
        self._check_tensor("x", x)
        if x.ndim == 0:
            raise InvalidArgument("x", "topk expects at least 1 dim")
        d = normalize_dim(dim, x.ndim)
        if not isinstance(k, int) or not 0 <= k <= x.shape[d]:
            raise InvalidArgument("k", f"expected an int in [0, {x.shape[d]}], received {k!r}")
        self._check_compute("topk", x.dtype)
        x2, pshape = last_dim_rows(x, d)
        vals = self._new((x2.shape[0], k), x.dtype)
        idx = self._new((x2.shape[0], k), self.default_int)
        if vals.numel:
            self._k_topk(x2, k, bool(largest), vals, idx)
        return (
            rows_back(vals, pshape, d, x.ndim).contiguous(),
            rows_back(idx, pshape, d, x.ndim).contiguous(),
        )
