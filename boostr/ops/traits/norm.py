"""Normalization primitives fused in one pass per row: rms_norm, layer_norm and
add + rms_norm (the residual stream of a transformer block).

Layout: ``x [..., C]`` normalized over the last dim; ``weight``/``bias`` ``[C]``.
"""

from __future__ import annotations

from ...errors import InvalidArgument
from ...tensor import Tensor
from ._base import TraitBase


class NormOps(TraitBase):
    """rms_norm, layer_norm, add_rms_norm."""

    def _norm_args(self, name: str, x: Tensor, params: dict[str, Tensor | None], eps: float) -> Tensor:
        self._check_tensor("x", x)
        if x.ndim == 0:
            raise InvalidArgument("x", f"{name} expects at least 1 dim, received a 0-d tensor")
        if not x.dtype.is_float:
            raise InvalidArgument("x", f"{name} expects a float tensor, received {x.dtype}")
        self._check_compute(name, x.dtype)
        if not isinstance(eps, (int, float)) or eps < 0:
            raise InvalidArgument("eps", f"expected a non-negative float, received {eps!r}")
        for arg, p in params.items():
            if p is None:
                continue
            self._check_tensor(arg, p)
            if p.shape != (x.shape[-1],):
                raise InvalidArgument(arg, f"expected shape ({x.shape[-1]},) to match x's last dim, received {p.shape}")
            if p.dtype is not x.dtype:
                raise InvalidArgument(arg, f"expected dtype {x.dtype} to match x, received {p.dtype}")
        c = x.shape[-1]
        return x.contiguous().reshape(x.numel // c if c else 0, c)

    def rms_norm(self, x: Tensor, weight: Tensor | None = None, eps: float = 1e-6) -> Tensor:
        """``x / sqrt(mean(x^2, -1) + eps) * weight`` (f32 accumulation)."""
        x2 = self._norm_args("rms_norm", x, {"weight": weight}, eps)
        out = self._new(x2.shape, x.dtype)
        if out.numel:
            self._k_rms_norm(x2, None if weight is None else weight.contiguous(), float(eps), out)
        return out.reshape(*x.shape)

    def layer_norm(
        self, x: Tensor, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
    ) -> Tensor:
        """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last dim (biased var)."""
        x2 = self._norm_args("layer_norm", x, {"weight": weight, "bias": bias}, eps)
        out = self._new(x2.shape, x.dtype)
        if out.numel:
            w = None if weight is None else weight.contiguous()
            b = None if bias is None else bias.contiguous()
            self._k_layer_norm(x2, w, b, float(eps), out)
        return out.reshape(*x.shape)

    def add_rms_norm(
        self, x: Tensor, residual: Tensor, weight: Tensor | None = None, eps: float = 1e-6
    ) -> tuple[Tensor, Tensor]:
        """Returns ``(rms_norm(x + residual) * weight, x + residual)`` in one pass."""
        x2 = self._norm_args("add_rms_norm", x, {"weight": weight}, eps)
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
        return out.reshape(*x.shape), summed.reshape(*x.shape)
