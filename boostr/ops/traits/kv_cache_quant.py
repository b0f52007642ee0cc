"""KV-cache quantization: fp8 e4m3 and int8 per token, int4 per group (packed two per byte).

Backends override ``_quantize_kv`` / ``_dequantize_kv``; the defaults are the generic
composites of ``boostr/ops/generic/kv_cache_quant.py`` (which state the formulas).
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...errors import InvalidArgument
from ...tensor import Tensor
from ..generic import kv_cache_quant as _gen
from ._base import TraitBase

KV_QUANT_FORMATS = ("fp8_e4m3", "int8", "int4")
INT4_GROUPS = (32, 64, 128)


class KvCacheQuantOps(TraitBase):
    """quantize_kv / dequantize_kv."""

    def _kv_fmt(self, fmt: str, group_size: int, d: int) -> int:
        if fmt not in KV_QUANT_FORMATS:
            raise InvalidArgument("fmt", f"expected one of {KV_QUANT_FORMATS}, received {fmt!r}")
        if fmt != "int4":
            return 0
        if group_size not in INT4_GROUPS:
            raise InvalidArgument("group_size", f"expected one of {INT4_GROUPS}, received {group_size!r}")
        if d % group_size:
            raise InvalidArgument("x", f"last dim {d} is not a multiple of group_size {group_size}")
        return group_size

    def quantize_kv(self, x: Tensor, fmt: str, *, group_size: int = 64) -> tuple[Tensor, Tensor, Tensor | None]:
        """Quantize K or V rows (the last dim: one token of one head).

        Layout (``x [..., D]`` float):
            fp8_e4m3: data ``[..., D]`` fp8_e4m3, scale ``[...]`` f32, zero None
            int8:     data ``[..., D]`` i8 (symmetric), scale ``[...]`` f32, zero None
            int4:     data ``[..., D/2]`` u8 (element 2i low nibble, 2i+1 high), scale and zero
                      ``[..., D/group_size]`` f32 (asymmetric: ``x ~ q * scale + zero``)
        """
        self._check_tensor("x", x)
        if x.ndim == 0 or not x.dtype.is_float:
            raise InvalidArgument("x", f"expected a float tensor [..., D], received {x.shape} {x.dtype}")
        g = self._kv_fmt(fmt, group_size, x.shape[-1])
        if x.numel == 0:
            raise InvalidArgument("x", f"expected a non-empty tensor, received shape {x.shape}")
        return self._quantize_kv(x, fmt, g)

    def _quantize_kv(self, x: Tensor, fmt: str, group: int) -> tuple[Tensor, Tensor, Tensor | None]:
        """Backend hook (validated); default: the generic composite."""
        return _gen.quantize(self, x, fmt, group)

    def dequantize_kv(
        self, data: Tensor, scale: Tensor, zero: Tensor | None, fmt: str, *, group_size: int = 64,
        dtype: Any = _dt.f32,
    ) -> Tensor:  # fmt: skip
        """Inverse of ``quantize_kv``: returns ``[..., D]`` in ``dtype`` (layouts as there)."""
        self._check_tensor("data", data)
        self._check_tensor("scale", scale)
        d = data.shape[-1] * (2 if fmt == "int4" else 1) if data.ndim else 0
        g = self._kv_fmt(fmt, group_size, d)
        want = {"fp8_e4m3": _dt.fp8_e4m3, "int8": _dt.i8, "int4": _dt.u8}[fmt]
        if data.dtype is not want or data.ndim == 0:
            raise InvalidArgument("data", f"expected a {want} tensor for {fmt}, received {data.dtype}")
        sshape = data.shape[:-1] + ((d // g,) if g else ())
        if scale.shape != sshape:
            raise InvalidArgument("scale", f"expected shape {sshape}, received {scale.shape}")
        if g:
            if zero is None:
                raise InvalidArgument("zero", "int4 needs the zero points returned by quantize_kv")
            self._check_tensor("zero", zero)
            if zero.shape != sshape:
                raise InvalidArgument("zero", f"expected shape {sshape}, received {zero.shape}")
        dt = _dt.dtype(dtype)
        if not dt.is_float:
            raise InvalidArgument("dtype", f"expected a float dtype, received {dt}")
        return self._dequantize_kv(data, scale, zero if g else None, fmt, g, dt)

    def _dequantize_kv(
        self, data: Tensor, scale: Tensor, zero: Tensor | None, fmt: str, group: int, dtype: _dt.DType
    ) -> Tensor:
        """Backend hook (validated); default: the generic composite."""
        return _gen.dequantize(self, data, scale, zero, fmt, group, dtype)
