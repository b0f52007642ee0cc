"""CUDA copy and fill hooks: byte-exact kernels for same-dtype copies and fills
(``kernels/cuda/memory/raw.cu``), converting kernels for casts (``memory/cast.cu``)."""

from __future__ import annotations

from ...tensor import Tensor
from ._util import CTYPE, CudaHookBase, contiguous, layout, scalar_bits

RAW = "cuda/memory/raw.cu"
CAST = "cuda/memory/cast.cu"


class CudaMemory(CudaHookBase):
    """``_k_copy`` / ``_k_fill`` on strided device views."""

    def _k_copy(self, src: Tensor, dst: Tensor) -> None:
        n = dst.numel
        same = src.dtype is dst.dtype
        rel, params = (RAW, ()) if same else (CAST, (("D", CTYPE[dst.dtype]), ("DN", dst.dtype.name)))
        stem = f"b{dst.dtype.itemsize}" if same else f"{src.dtype.name}_{dst.dtype.name}"
        if contiguous(src, dst):
            self._launch_flat(rel, f"{'copy' if same else 'cast'}_contig_{stem}", params, n, [dst, src, n])
        else:
            lay = layout(dst.shape, [dst.strides, src.strides])
            self._launch_flat(rel, f"{'copy' if same else 'cast'}_strided_{stem}", params, n, [dst, src, n, lay])

    def _k_fill(self, dst: Tensor, value: bool | int | float) -> None:
        n = dst.numel
        bits = scalar_bits(value, dst.dtype)
        b = dst.dtype.itemsize
        if dst.is_contiguous():
            self._launch_flat(RAW, f"fill_contig_b{b}", (), n, [dst, n, bits])
        else:
            self._launch_flat(RAW, f"fill_strided_b{b}", (), n, [dst, n, bits, layout(dst.shape, [dst.strides])])
