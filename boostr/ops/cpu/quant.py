"""CPU quantization hooks: numba kernels of ``boostr/kernels/cpu/quant`` over numpy views.

The kernels are imported on first use, so ``import boostr`` neither imports gguf-py nor
compiles anything.
"""

from __future__ import annotations

from ...errors import UnsupportedDType
from ...quant.formats import QuantFormat
from ...tensor import Tensor
from ._view import np_view


class CpuQuant:
    def _quant_dequantize(self, raw: Tensor, fmt: QuantFormat, out: Tensor) -> None:
        from ...kernels.cpu import quant as kq

        nblk = raw.numel // fmt.block_bytes
        kq.dequant_blocks(fmt.name, np_view(raw), nblk, fmt.block_bytes, fmt.block_elems, np_view(out).reshape(-1))

    def _quant_matmul(self, x: Tensor, raw: Tensor, fmt: QuantFormat, n: int, k: int, out: Tensor) -> None:
        from ...kernels.cpu import quant as kq

        kq.matmul_rows(fmt.name, np_view(x), np_view(raw), n, k, fmt.block_bytes, fmt.block_elems, np_view(out))

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
