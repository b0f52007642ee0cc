"""dequantize / quant_matmul of 4-bit NF4, AWQ and GPTQ weights (``boostr.quant.int4``).

``QuantOps.dequantize`` and ``QuantOps.quant_matmul`` route an ``Int4QuantTensor`` here. Backends
implement two hooks (the defaults refuse with UnsupportedDType naming the format):

- ``_int4_dequantize(w, out)``: ``out [n1 - n0, K]`` = rows ``[n0, n1)`` of W (``out`` f32, or a
  dtype of ``int4_dequant_dtypes``); here always all rows;
- ``_int4_matmul(x, w, out)``: ``out [R, N] = x [R, K] @ W^T`` for x f32 contiguous, never
  materializing the whole W in float (small R: a fused GEMV; large R: row tiles of W).

``int4_caps`` names the formats each hook takes (``dequantize``, ``quant_matmul``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ... import dtype as _dt
from ...errors import InvalidArgument, UnsupportedDType
from ...tensor import Tensor
from ._base import TraitBase


class Int4QuantOps(TraitBase):
    """The 4-bit (NF4 / AWQ / GPTQ) side of QuantOps (see the module doc)."""

    int4_caps: ClassVar[dict[str, frozenset[str]]] = {}
    """Formats (``NF4``, ``AWQ``, ``GPTQ``) the backend's hooks implement, by op."""
    int4_dequant_dtypes: frozenset[_dt.DType] = frozenset({_dt.f32})
    """Output dtypes ``_int4_dequantize`` writes directly (others are cast from f32)."""

    def _int4_refuse(self, op: str, w: Any) -> UnsupportedDType:
        return UnsupportedDType(op, w.format.name, self.device_name, hint=f"no {w.format.name} {op} kernel here")

    def _int4_dequant_op(self, w: Any, dt: _dt.DType) -> Tensor:
        """Layout: ``w [N, K]`` -> ``[N, K]`` in ``dt`` (f32 exact: (q - z) * s, or code * absmax)."""
        if w.format.name not in self.int4_caps.get("dequantize", ()):
            raise self._int4_refuse("dequantize", w)
        out = self._new(w.shape, dt if dt in self.int4_dequant_dtypes else _dt.f32)
        if out.numel:
            self._int4_dequantize(w, out)
        return out if out.dtype is dt else self.cast(out, dt)

    def _int4_matmul_op(self, x: Tensor, w: Any) -> Tensor:
        """Layout: ``x [..., M, K]`` (f32, f16, bf16), ``w [N, K]`` -> ``[..., M, N]`` in x's dtype."""
        if not x.dtype.is_float or x.dtype.is_fp8 or x.dtype is _dt.f64:
            raise InvalidArgument("x", f"expected f32, f16 or bf16 activations, received {x.dtype}")
        n, k = w.shape
        if x.ndim == 0 or x.shape[-1] != k:
            raise InvalidArgument("x", f"expected [..., M, K={k}] to match w {w.shape}, received {x.shape}")
        if w.format.name not in self.int4_caps.get("quant_matmul", ()):
            raise self._int4_refuse("quant_matmul", w)
        rows = x.numel // k
        x2 = self.cast(x, _dt.f32).reshape(rows, k).contiguous()
        out = self._new((rows, n), _dt.f32)
        if out.numel:
            self._int4_matmul(x2, w, out)
        res = out.reshape(*x.shape[:-1], n)
        return res if x.dtype is _dt.f32 else self.cast(res, x.dtype)

    # ---- backend hooks (refuse until a backend implements them)
    def _int4_dequantize(self, w: Any, out: Tensor) -> None:
        raise self._int4_refuse("dequantize", w)

    def _int4_matmul(self, x: Tensor, w: Any, out: Tensor) -> None:
        raise self._int4_refuse("quant_matmul", w)


__all__ = ["Int4QuantOps"]
