"""CUDA matmul hook: cuBLAS through CuPy for f64/f32/f16; a tensor-core kernel for bf16
(``kernels/cuda/matmul/matmul_bf16.cu``: ldmatrix + mma.sync m16n8k16, f32 accumulation), since CuPy
has no bf16 dtype and so no bf16 cuBLAS path."""

from __future__ import annotations

from ... import dtype as _dt
from ...tensor import Tensor
from ._util import CudaHookBase, aligned16

_MAX_GRID_Z = 65535


def _mode(rows: int, k: int, s_row: int, s_k: int, s_batch: int, nbatch: int, t: Tensor) -> int:
    """Tile load mode: 1 = 128-bit along K, 2 = 128-bit along rows, 0 = scalar (see the kernel)."""
    batch_ok = nbatch == 1 or s_batch % 8 == 0
    if not (aligned16(t) and batch_ok):
        return 0
    if s_k == 1 and k % 8 == 0 and (rows == 1 or s_row % 8 == 0):
        return 1
    if s_row == 1 and rows % 8 == 0 and (k == 1 or s_k % 8 == 0):
        return 2
    return 0


class CudaMatmul(CudaHookBase):
    def _k_matmul(self, a: Tensor, b: Tensor, out: Tensor) -> None:
        if out.dtype is _dt.bf16:
            self._matmul_bf16(a, b, out)
            return
        cp = self.cp
        with self._scope():
            av, bv, ov = self._cp_view(a), self._cp_view(b), self._cp_view(out)
            if out.shape[0] == 1:
                cp.dot(av[0], bv[0], out=ov[0])
            else:
                cp.matmul(av, bv, out=ov)

    def _matmul_bf16(self, a: Tensor, b: Tensor, out: Tensor) -> None:
        nb, m, k = a.shape
        n = b.shape[2]
        sab, sam, sak = a.strides
        sbb, sbk, sbn = b.strides
        amode = _mode(m, k, sam, sak, sab, nb, a)
        bmode = _mode(n, k, sbn, sbk, sbb, nb, b)
        entry = "matmul_tc_kn_bf16" if bmode == 2 else "matmul_tc_nk_bf16"
        for z0 in range(0, nb, _MAX_GRID_Z):
            z = min(_MAX_GRID_Z, nb - z0)
            sub = [t._view((z, *t.shape[1:]), t.strides, t.offset + z0 * t.strides[0]) for t in (a, b, out)]
            grid = ((n + 127) // 128, (m + 127) // 128, z)
            args = [sub[2], sub[0], sub[1], m, n, k, sab, sam, sak, sbb, sbk, sbn, amode, bmode]
            self._launch("cuda/matmul/matmul_bf16.cu", entry, (), grid, 256, args)
