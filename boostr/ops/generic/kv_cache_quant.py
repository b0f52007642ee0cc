"""Generic KV-cache quantization from primitives (the definition the fused kernels match bit for bit).

Rows are the last dim of ``x [..., D]`` (one token of one head); arithmetic in f32.

- ``fp8_e4m3`` per row: ``scale = amax / 448`` (1 if amax == 0), ``data = fp8(x / scale)``.
- ``int8`` per row, symmetric: ``scale = amax / 127`` (1 if 0), ``data = clamp(rint(x / scale), -127, 127)``.
- ``int4`` per group of ``g`` (32/64/128), asymmetric: ``zero = min``, ``scale = (max - min) / 15``
  (1 if 0), ``q = clamp(rint((x - zero) / scale), 0, 15)``; element ``2i`` in the low nibble and
  ``2i + 1`` in the high nibble of byte ``i`` (u8 ``[..., D / 2]``). Dequant: ``q * scale + zero``.
``rint`` rounds half to even.
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor


def _safe(c: Any, s: Tensor) -> Tensor:
    return c.where(c.eq(s, 0.0), 1.0, s)


def quantize(c: Any, x: Tensor, fmt: str, group: int) -> tuple[Tensor, Tensor, Tensor | None]:
    """Returns ``(data, scale, zero)``; see the module doc for shapes (zero is None except int4)."""
    xf = c.cast(x, _dt.f32)
    lead, d = x.shape[:-1], x.shape[-1]
    if fmt in ("fp8_e4m3", "int8"):
        qmax = 448.0 if fmt == "fp8_e4m3" else 127.0
        scale = _safe(c, c.div(c.max(c.abs(xf), -1, keepdim=True), qmax))
        y = c.div(xf, scale)
        data = c.cast(y, _dt.fp8_e4m3) if fmt == "fp8_e4m3" else c.cast(c.clamp(c.round(y), -127.0, 127.0), _dt.i8)
        return data, scale.reshape(*lead), None
    xg = xf.reshape(*lead, d // group, group)
    mn = c.min(xg, -1, keepdim=True)
    scale = _safe(c, c.div(c.sub(c.max(xg, -1, keepdim=True), mn), 15.0))
    q = c.clamp(c.round(c.div(c.sub(xg, mn), scale)), 0.0, 15.0).reshape(*lead, d // 2, 2)
    packed = c.add(q[..., 0], c.mul(q[..., 1], 16.0))
    return c.cast(packed, _dt.u8), scale.reshape(*lead, d // group), mn.reshape(*lead, d // group)


def dequantize(
    c: Any, data: Tensor, scale: Tensor, zero: Tensor | None, fmt: str, group: int, dtype: _dt.DType
) -> Tensor:
    """Inverse of ``quantize`` into ``dtype``: ``[..., D]``."""
    if fmt in ("fp8_e4m3", "int8"):
        return c.cast(c.mul(c.cast(data, _dt.f32), scale.unsqueeze(-1)), dtype)
    assert zero is not None
    lead, half = data.shape[:-1], data.shape[-1]
    d = 2 * half
    v = c.cast(data, _dt.f32)
    hi = c.floor(c.div(v, 16.0))
    lo = c.sub(v, c.mul(hi, 16.0))
    q = c.stack([lo, hi], -1).reshape(*lead, d // group, group)
    x = c.add(c.mul(q, scale.unsqueeze(-1)), zero.unsqueeze(-1))
    return c.cast(x.reshape(*lead, d), dtype)
