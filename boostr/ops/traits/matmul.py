"""Batched, broadcasting matrix multiply.

Layout: ``a [..., M, K] @ b [..., K, N] -> [..., M, N]``; batch dims broadcast;
1-D operands follow numpy (a vector is promoted and the added dim removed).
"""

from __future__ import annotations

from ...dtype import promote_types
from ...errors import InvalidArgument
from ...tensor import Tensor
from ._base import TraitBase
from ._util import broadcast_shapes


class MatmulOps(TraitBase):
    """matmul (float dtypes; half types accumulate in f32)."""

    def matmul(self, a: Tensor, b: Tensor) -> Tensor:
        self._check_tensor("a", a)
        self._check_tensor("b", b)
        if a.ndim == 0 or b.ndim == 0:
            raise InvalidArgument("a" if a.ndim == 0 else "b", "matmul expects at least 1-d tensors, received 0-d")
        dt = promote_types(a.dtype, b.dtype)
        if not dt.is_float:
            raise InvalidArgument("a", f"matmul expects float tensors, received {a.dtype} and {b.dtype}")
        self._check_compute("matmul", dt)
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        a2 = a.unsqueeze(0) if a_vec else a
        b2 = b.unsqueeze(1) if b_vec else b
        m, k = a2.shape[-2:]
        k2, n = b2.shape[-2:]
        if k != k2:
            raise InvalidArgument("b", f"inner dims differ: a is {a.shape} (K={k}), b is {b.shape} (K={k2})")
        batch = broadcast_shapes(a2.shape[:-2], b2.shape[:-2], args=("a", "b"))
        nb = 1
        for x in batch:
            nb *= x
        a3 = self.cast(a2, dt).expand(*batch, m, k)
        b3 = self.cast(b2, dt).expand(*batch, k, n)
        out = self._new((nb, m, n), dt)
        if out.numel:
            if k == 0:
                self._k_fill(out, 0.0)
            else:
                self._k_matmul(_as3d(a3, nb), _as3d(b3, nb), out)
        shape = [*batch, m, n]
        if b_vec:
            shape.pop(-1)
        if a_vec:
            shape.pop(-2 if not b_vec else -1)
        return out.reshape(*shape)


def _as3d(x: Tensor, nb: int) -> Tensor:
    """View ``[..., M, K]`` as ``[B, M, K]``, copying only if the batch dims cannot merge."""
    dims = [(n, s) for n, s in zip(x.shape[:-2], x.strides[:-2], strict=True) if n != 1]
    if all(dims[i][1] == dims[i + 1][1] * dims[i + 1][0] for i in range(len(dims) - 1)):
        bstride = dims[-1][1] if dims else 0
        return x._view((nb, *x.shape[-2:]), (bstride, *x.strides[-2:]), x.offset)
    c = x.contiguous()
    return c.reshape(nb, *x.shape[-2:])
