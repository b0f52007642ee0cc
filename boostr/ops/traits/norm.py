"""Normalization primitives fused in one pass per row: rms_norm, layer_norm and
add + rms_norm (the residual stream of a transformer block).

Layout: ``x [..., C]`` normalized over the last dim; ``weight``/``bias`` ``[C]``.
"""

from __future__ import annotations

import math

from ...dtype import DType
from ...errors import InvalidArgument
from ...tensor import Tensor, _contiguous_view
from ._base import TraitBase


class NormOps(TraitBase):
    """rms_norm, layer_norm, add_rms_norm."""

    def _norm_args(
        self, name: str, x: Tensor, eps: float, weight: Tensor | None = None, bias: Tensor | None = None
    ) -> Tensor:
        """Validate the operands; return x as a contiguous ``[R, C]`` (C = x's last dim)."""
        if type(x) is not Tensor or x.client is not self:
            self._check_tensor("x", x)
        shape = x.shape
        if not shape:
            raise InvalidArgument("x", f"{name} expects at least 1 dim, received a 0-d tensor")
        dt = x.dtype
        if dt.kind != "f":
            raise InvalidArgument("x", f"{name} expects a float tensor, received {dt}")
        self._check_compute(name, dt)
        if not isinstance(eps, (int, float)) or eps < 0:
            raise InvalidArgument("eps", f"expected a non-negative float, received {eps!r}")
        c = shape[-1]
        if weight is not None:
            self._norm_param("weight", weight, c, dt)
        if bias is not None:
            self._norm_param("bias", bias, c, dt)
        if not x.is_contiguous():
            x = self.contiguous(x)
        return _contiguous_view(x._storage, (math.prod(shape) // c if c else 0, c), x.offset, dt, self)

    def _norm_param(self, arg: str, p: Tensor, c: int, dt: DType) -> None:
        self._check_tensor(arg, p)
        if p.shape != (c,):
            raise InvalidArgument(arg, f"expected shape ({c},) to match x's last dim, received {p.shape}")
        if p.dtype is not dt:
            raise InvalidArgument(arg, f"expected dtype {dt} to match x, received {p.dtype}")

    def rms_norm(self, x: Tensor, weight: Tensor | None = None, eps: float = 1e-6) -> Tensor:
        """``x / sqrt(mean(x^2, -1) + eps) * weight`` (f32 accumulation)."""
        x2 = self._norm_args("rms_norm", x, eps, weight)
        out = self._new(x2.shape, x.dtype)
        if out.numel:
            self._k_rms_norm(x2, None if weight is None else weight.contiguous(), float(eps), out)
        return _contiguous_view(out._storage, x.shape, 0, x.dtype, self)

    def layer_norm(
        self, x: Tensor, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
    ) -> Tensor:
        """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last dim (biased var)."""
        x2 = self._norm_args("layer_norm", x, eps, weight, bias)
        out = self._new(x2.shape, x.dtype)
        if out.numel:
            w = None if weight is None else weight.contiguous()
            b = None if bias is None else bias.contiguous()
            self._k_layer_norm(x2, w, b, float(eps), out)
        return _contiguous_view(out._storage, x.shape, 0, x.dtype, self)

    def add_rms_norm(
        self, x: Tensor, residual: Tensor, weight: Tensor | None = None, eps: float = 1e-6
    ) -> tuple[Tensor, Tensor]:
        """Returns ``(rms_norm(x + residual) * weight, x + residual)`` in one pass."""
        x2 = self._norm_args("add_rms_norm", x, eps, weight)
        self._check_tensor("residual", residual)
        if residual.shape != x.shape or residual.dtype is not x.dtype:
            raise InvalidArgument(
                "residual", f"expected shape {x.shape} and dtype {x.dtype}, received {residual.shape} {residual.dtype}"
            )
        r2 = residual.contiguous().reshape(*x2.shape)
        out = self._new(x2.shape, x.dtype)
        summed = self._new(x2.shape, x.dtype)
        if out.numel:
            self._k_add_rms_norm(x2, r2, None if weight is None else weight.contiguous(), float(eps), out, summed)
        return (_contiguous_view(out._storage, x.shape, 0, x.dtype, self),
                _contiguous_view(summed._storage, x.shape, 0, x.dtype, self))  # fmt: skip
