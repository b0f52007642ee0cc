"""CPU quantization hooks: numba kernels of ``boostr/kernels/cpu/quant`` over numpy views.

The kernels are imported on first use, so ``import boostr`` neither imports gguf-py nor
compiles anything. This mixin precedes the traits in the CPU client's MRO, and overrides two
trait methods for their hot case only (everything else goes to the trait):

- ``quant_matmul`` for contiguous f32 ``x``: the same kernel call with ~10 us less Python
  around it (a 576 x 576 decode GEMV is ~15 us of work);
- ``quant_swiglu`` for decode-sized inputs (M <= 16) and a format with a fused kernel: gate
  and up rows decoded in one pass, ``silu(g) * u`` written directly (no [M, F] temporaries).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ... import dtype as _dt
from ...errors import UnsupportedDType
from ...quant.formats import QuantFormat
from ...tensor import Tensor
from ._view import np_view

_KQ: list[ModuleType] = []
_QT: list[type] = []


def _kq() -> ModuleType:
    """``boostr.kernels.cpu.quant``, imported on first use."""
    if not _KQ:
        from ...kernels.cpu import quant

        _KQ.append(quant)
    return _KQ[0]


def _qt_type() -> type:
    if not _QT:
        from ...quant.quant_tensor import QuantTensor

        _QT.append(QuantTensor)
    return _QT[0]


class CpuQuant:
    def _quant_dequantize(self, raw: Tensor, fmt: QuantFormat, out: Tensor) -> None:
        nblk = raw.numel // fmt.block_bytes
        _kq().dequant_blocks(fmt.name, np_view(raw), nblk, fmt.block_bytes, fmt.block_elems, np_view(out).reshape(-1))

    def _quant_matmul(self, x: Tensor, raw: Tensor, fmt: QuantFormat, n: int, k: int, out: Tensor) -> None:
        _kq().matmul_rows(fmt.name, np_view(x), np_view(raw), n, k, fmt.block_bytes, fmt.block_elems, np_view(out))

    def _quant_quantize(self, x: Tensor, fmt: QuantFormat, out: Tensor) -> None:
        from ...kernels.cpu.quant import quantize as kqq

        if not kqq.can_quantize(fmt.name):
            raise UnsupportedDType(
                "quantize",
                fmt.name,
                "cpu",
                hint=f"no {fmt.name} quantizer on this backend yet; quantizable: {', '.join(kqq.QUANTIZABLE)}",
            )
        kqq.quantize_rows(fmt.name, np_view(x), np_view(out))

    def _quant_rows(self, x: Any, *ws: Any) -> int:
        """Rows of ``x`` when the fast paths apply (f32 contiguous x, 2-d QuantTensors here), else 0."""
        qt: Any = _qt_type()
        if type(x) is not Tensor or x.client is not self or x.dtype is not _dt.f32 or not x.shape:  # type: ignore[comparison-overlap]
            return 0
        k = x.shape[-1]
        for w in ws:
            if type(w) is not qt or getattr(w, "client", None) is not self or len(w.shape) != 2 or w.shape[1] != k:
                return 0
        rows = x.numel // k if k else 0
        return rows if rows and ws[0].shape[0] and x.is_contiguous() else 0

    def quant_matmul(self, x: Tensor, w: Any) -> Tensor:
        """``x @ W^T`` with quantized ``W``; see ``QuantOps.quant_matmul``."""
        rows = self._quant_rows(x, w)
        if not rows:
            return super().quant_matmul(x, w)  # type: ignore[misc, no-any-return]
        n, k = w.shape
        fmt = w.format
        out = self._new((*x.shape[:-1], n), _dt.f32)  # type: ignore[attr-defined]
        xv, ov = np_view(x).reshape(rows, k), np_view(out).reshape(rows, n)
        _kq().matmul_rows(fmt.name, xv, np_view(w.data), n, k, fmt.block_bytes, fmt.block_elems, ov)
        return out  # type: ignore[no-any-return]

    def quant_swiglu(self, x: Tensor, w_gate: Any, w_up: Any) -> Tensor:
        """``silu(x @ gate^T) * (x @ up^T)``; see ``QuantOps.quant_swiglu`` (fused here for small M)."""
        kq = _kq()
        rows = self._quant_rows(x, w_gate, w_up)
        if (
            not rows
            or w_gate.shape != w_up.shape
            or w_gate.format != w_up.format
            or not kq.can_fuse_swiglu(w_gate.format.name, rows)
        ):
            return super().quant_swiglu(x, w_gate, w_up)  # type: ignore[misc, no-any-return]
        n, k = w_gate.shape
        fmt = w_gate.format
        out = self._new((*x.shape[:-1], n), _dt.f32)  # type: ignore[attr-defined]
        xv, wg, wu = np_view(x).reshape(rows, k), np_view(w_gate.data), np_view(w_up.data)
        kq.swiglu_rows(fmt.name, xv, wg, wu, n, k, fmt.block_bytes, fmt.block_elems, np_view(out).reshape(rows, n))
        return out  # type: ignore[no-any-return]
