"""CPU gather / scatter / index_select hooks (index values validated: InvalidArgument)."""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgument
from ...tensor import Tensor
from ._view import np_view, store


def _checked(index: Tensor, n: int, arg: str = "index") -> np.ndarray:
    idx = np_view(index)
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < -n or hi >= n:
            raise InvalidArgument(arg, f"values must be in [{-n}, {n}), found [{lo}, {hi}]")
    return np.where(idx < 0, idx + n, idx)


class CpuIndexing:
    def _k_gather(self, x: Tensor, dim: int, index: Tensor, out: Tensor) -> None:
        idx = _checked(index, x.shape[dim])
        xv = np_view(x)
        # restrict x to index's extent outside dim, as torch.gather does
        sl = tuple(slice(None) if d == dim else slice(0, idx.shape[d]) for d in range(x.ndim))
        store(out, np.take_along_axis(xv[sl], idx, axis=dim))

    def _k_scatter(self, out: Tensor, dim: int, index: Tensor, src: Tensor, accumulate: bool) -> None:
        idx = _checked(index, out.shape[dim])
        ov = np_view(out)
        sv = np_view(src)
        grids = list(np.indices(idx.shape, sparse=True))
        grids[dim] = idx
        if accumulate:
            if out.dtype.is_half:
                wide = ov.astype(np.float32)
                np.add.at(wide, tuple(grids), sv.astype(np.float32))
                store(out, wide)
            else:
                np.add.at(ov, tuple(grids), sv)
        else:
            ov[tuple(grids)] = sv

    def _k_index_select(self, x: Tensor, dim: int, index: Tensor, out: Tensor) -> None:
        idx = _checked(index, x.shape[dim])
        np.take(np_view(x), idx, axis=dim, out=np_view(out))
