"""wgpu KV-cache quantization in WGSL, storing the compact forms (``boostr/kernels/wgsl/kv``).

Formulas and layouts: ``boostr/ops/traits/kv_cache_quant.py`` and ``ops/generic/kv_cache_quant.py``;
the codes equal the generic composite's (and the CPU's) bit for bit: f32 arithmetic, correctly
rounded divisions, rint half to even.

- ``fp8_e4m3`` / ``int8`` (per token row): ``kv/quant_row.wgsl``, one workgroup per row (amax,
  scale, then one byte per code, four per u32 word); ``kv/dequant_row.wgsl``, one thread per element.
  data ``[..., D]`` fp8_e4m3 / i8 (1 byte each), scale ``[...]`` f32.
- ``int4`` (per group of 32 / 64 / 128): ``kv/int4_quant.wgsl``, one thread per u32 word of codes
  (8 elements, groups combined in workgroup memory), and ``kv/int4_dequant.wgsl``. data
  ``[..., D / 2]`` u8 (two codes per byte), scale and zero ``[..., D / G]`` f32.

Tensors larger than one storage binding take the generic composite (same results, more launches).
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor
from ..traits.kv_cache_quant import KvCacheQuantOps
from ._kern import WG, decl, kernel, launch

_ROW = {"fp8_e4m3": ("448.0", "return f32_to_e4m3(y);"),
        "int8": ("127.0", "return bitcast<u32>(i32(clamp(round(y), -127.0, 127.0))) & 0xffu;")}  # fmt: skip
_CODE_DT = {"fp8_e4m3": _dt.fp8_e4m3, "int8": _dt.i8}


def _bind(t: Tensor) -> tuple[Any, int, int]:
    return (t.storage.buffer, 0, t.storage.buffer.size)


def _bindable(client: Any, *ts: Tensor) -> bool:
    return all(t.storage.buffer.size <= client.max_binding for t in ts)


class WgpuKvCacheQuant(KvCacheQuantOps):
    """Overrides of the KV-quantization trait hooks (subclassing the trait keeps this mixin ahead of
    it in the client's MRO)."""

    def _quantize_kv(self, x: Tensor, fmt: str, group: int) -> tuple[Tensor, Tensor, Tensor | None]:
        x = x.contiguous()
        lead, d = x.shape[:-1], x.shape[-1]
        rows = x.numel // d
        if fmt == "int4":
            data = self._new((*lead, d // 2), _dt.u8)
            scale, zero = self._new((*lead, d // group), _dt.f32), self._new((*lead, d // group), _dt.f32)
            if not _bindable(self, x, data, scale, zero):
                return super()._quantize_kv(x, fmt, group)
            decls = "\n".join([decl("x", 0, x.dtype), decl("scale", 1, _dt.f32, "w"), decl("zero", 2, _dt.f32, "w"),
                               "@group(1) @binding(3) var<storage, read_write> data: array<u32>;"])  # fmt: skip
            kern = kernel(self, "wgsl/kv/int4_quant.wgsl", "main", "rwww", decls, G=group)
            words = x.numel // 8
            launch(self, kern, [_bind(t) for t in (x, scale, zero, data)],
                   [words, x.offset, 0, 0, 0], -(-words // WG))  # fmt: skip
            return data, scale, zero
        data, scale = self._new(x.shape, _CODE_DT[fmt]), self._new(lead, _dt.f32)
        if not _bindable(self, x, data, scale):
            return super()._quantize_kv(x, fmt, group)
        qmax, code = _ROW[fmt]
        decls = "\n".join([decl("x", 0, x.dtype), decl("scale", 1, _dt.f32, "w"), decl("data", 2, data.dtype, "w")])
        kern = kernel(self, "wgsl/kv/quant_row.wgsl", "main", "rww", decls, WORDS=str(d % 4 == 0).lower(),
                      QMAX=qmax, CODE=code)  # fmt: skip
        launch(self, kern, [_bind(x), _bind(scale), _bind(data)], [rows, d, x.offset, 0, 0], rows)
        return data, scale, None

    def _dequantize_kv(
        self, data: Tensor, scale: Tensor, zero: Tensor | None, fmt: str, group: int, dtype: _dt.DType
    ) -> Tensor:
        if dtype not in self.compute_dtypes or data.numel == 0:  # the generic path refuses f64 cleanly
            return super()._dequantize_kv(data, scale, zero, fmt, group, dtype)
        data, scale = data.contiguous(), scale.contiguous()
        d = data.shape[-1] * (2 if fmt == "int4" else 1)
        out = self._new((*data.shape[:-1], d), dtype)
        ts = [data, scale] if zero is None else [data, scale, zero.contiguous()]
        if not _bindable(self, *ts, out):
            return super()._dequantize_kv(data, scale, zero, fmt, group, dtype)
        names = ("data", "scale", "zero")
        decls = "\n".join([*(decl(n, i, t.dtype) for i, (n, t) in enumerate(zip(names, ts))),
                           decl("out", len(ts), dtype, "w")])  # fmt: skip
        n = out.numel
        if fmt == "int4":
            kern = kernel(self, "wgsl/kv/int4_dequant.wgsl", "main", "rrrw", decls)
            words = [n, group, data.offset, scale.offset, ts[2].offset, 0]
        else:
            kern = kernel(self, "wgsl/kv/dequant_row.wgsl", "main", "rrw", decls)
            words = [n, d, data.offset, scale.offset, 0]
        launch(self, kern, [*(_bind(t) for t in ts), _bind(out)], words, -(-n // WG))
        return out
