"""CPU gather / scatter / index_select hooks (index values validated: InvalidArgument)."""

from __future__ import annotations

import math

import numpy as np

from ...errors import InvalidArgument
from ...kernels.cpu.gather import first_bad_index, take_rows, take_rows_serial
from ...tensor import Tensor
from ._view import np_view, store

_PARALLEL_BYTES = 256 << 10  # gathers smaller than this run on one thread (no parallel launch)
_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


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
        grids: list[np.ndarray] = list(np.indices(idx.shape, sparse=True))
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
        idx = np_view(index)
        n = x.shape[dim]
        if first_bad_index(idx, n) >= 0:
            lo, hi = int(idx.min()), int(idx.max())
            raise InvalidArgument("index", f"values must be in [{-n}, {n}), found [{lo}, {hi}]")
        a = math.prod(x.shape[:dim])
        b = math.prod(x.shape[dim + 1 :])
        bits = _UINT[x.dtype.itemsize]
        xv = np_view(x).view(bits).reshape(a, n, b)
        kernel = take_rows if out.nbytes >= _PARALLEL_BYTES else take_rows_serial
        kernel(xv, idx, np_view(out).view(bits).reshape(a, idx.shape[0], b))
