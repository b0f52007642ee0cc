"""RMSNorm and LayerNorm over the last dim.

Layout: ``x [..., C]``; ``weight`` / ``bias`` ``[C]``. ``RMSNorm.add_norm(x, residual)`` is the
residual-stream step of a pre-norm transformer in one fused pass (``client.add_rms_norm``):
it returns ``(rms_norm(x + residual) * weight, x + residual)``.
"""

from __future__ import annotations

from ..errors import InvalidArgument
from ..tensor import Tensor
from .module import Module


class RMSNorm(Module):
    """``x / sqrt(mean(x^2) + eps) * weight``."""

    def __init__(self, weight: Tensor, eps: float = 1e-6) -> None:
        super().__init__()
        if not isinstance(weight, Tensor) or weight.ndim != 1:
            raise InvalidArgument("weight", f"expected a 1-d float Tensor [C], received {weight!r}")
        self.weight = weight
        self.eps = float(eps)

    def __call__(self, x: Tensor) -> Tensor:
        w = self.weight if self.weight.dtype is x.dtype else x.client.cast(self.weight, x.dtype)
        return x.client.rms_norm(x, w, self.eps)

    def add_norm(self, x: Tensor, residual: Tensor) -> tuple[Tensor, Tensor]:
        """``(rms_norm(x + residual) * weight, x + residual)`` in one pass."""
        w = self.weight if self.weight.dtype is x.dtype else x.client.cast(self.weight, x.dtype)
        return x.client.add_rms_norm(x, residual, w, self.eps)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps:g}"


class LayerNorm(Module):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` (biased variance); weight/bias may be None."""

    def __init__(self, weight: Tensor | None, bias: Tensor | None = None, eps: float = 1e-5) -> None:
        super().__init__()
        for name, t in (("weight", weight), ("bias", bias)):
            if t is not None and (not isinstance(t, Tensor) or t.ndim != 1):
                raise InvalidArgument(name, f"expected None or a 1-d float Tensor [C], received {t!r}")
        self.weight = weight
        self.bias = bias
        self.eps = float(eps)

    def __call__(self, x: Tensor) -> Tensor:
        c = x.client
        w = None if self.weight is None else c.cast(self.weight, x.dtype)
        b = None if self.bias is None else c.cast(self.bias, x.dtype)
        return c.layer_norm(x, w, b, self.eps)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"eps={self.eps:g}, weight={self.weight is not None}, bias={self.bias is not None}"


__all__ = ["LayerNorm", "RMSNorm"]
