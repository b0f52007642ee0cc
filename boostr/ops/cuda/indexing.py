"""CUDA gather / scatter / index_select hooks (``kernels/cuda/indexing``): data movement by
element size (every storage dtype), atomics for scatter_add; index values are clamped."""

from __future__ import annotations

import math

from ...tensor import Tensor, contiguous_strides
from ._util import CTYPE, CudaHookBase, layout

REL = "cuda/indexing/indexing.cu"


def _as1d(t: Tensor) -> Tensor:
    return t._view((1,), (1,), t.offset) if t.ndim == 0 else t


def _walk(index: Tensor, target: Tensor, dim: int) -> tuple[int, int, object]:
    """(size at dim, stride at dim, Layout over index's shape with target's strides, dim zeroed)."""
    strides = list(contiguous_strides(target.shape))
    dstride = strides[dim]
    strides[dim] = 0
    return target.shape[dim], dstride, layout(index.shape, [strides], merge=False, arg="index")


class CudaIndexing(CudaHookBase):
    def _k_gather(self, x: Tensor, dim: int, index: Tensor, out: Tensor) -> None:
        x, index, out = _as1d(x), _as1d(index), _as1d(out)
        n, dstride, lay = _walk(index, x, dim)
        total = out.numel
        self._launch_flat(REL, f"gather_b{x.dtype.itemsize}_{index.dtype.name}", (), total,
                          [out, x, index, total, n, dstride, lay])  # fmt: skip

    def _k_scatter(self, out: Tensor, dim: int, index: Tensor, src: Tensor, accumulate: bool) -> None:
        out, index, src = _as1d(out), _as1d(index), _as1d(src)
        n, dstride, lay = _walk(index, out, dim)
        total = index.numel
        args = [out, src, index, total, n, dstride, lay]
        if accumulate:
            params = (("T", CTYPE[out.dtype]), ("N", out.dtype.name))
            entry = f"scatter_add_{out.dtype.name}_{index.dtype.name}"
            self._launch_flat("cuda/indexing/scatter_add.cu", entry, params, total, args)
        else:
            self._launch_flat(REL, f"scatter_b{out.dtype.itemsize}_{index.dtype.name}", (), total, args)

    def _k_index_select(self, x: Tensor, dim: int, index: Tensor, out: Tensor) -> None:
        outer = math.prod(x.shape[:dim])
        inner = math.prod(x.shape[dim + 1 :])
        total = out.numel
        args = [out, x, index, total, x.shape[dim], index.numel, inner]
        del outer  # implied by total / (k * inner) inside the kernel
        self._launch_flat(REL, f"index_select_b{x.dtype.itemsize}_{index.dtype.name}", (), total, args)
