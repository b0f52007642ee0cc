"""CUDA hooks of the 4-bit formats (NF4, AWQ, GPTQ): ``kernels/cuda/quant/int4*.cu``.

- dequantize: ``int4_dequant.cu`` (f32, f16 or bf16 out), one 8-weight chunk a thread;
- quant_matmul, M <= ``GEMV_MAX_M``: ``int4_gemv.cu`` launches of up to 8 rows, weights decoded
  in registers (columns along lanes for AWQ / GPTQ, K along lanes for NF4), f32 sums;
- larger M: weight row tiles (``TILE_BYTES`` at most, f32) dequantized and multiplied by cuBLAS
  SGEMM through CuPy; the whole float W is never held.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ... import dtype as _dt
from ...runtime.cuda.kernels import Params
from ...tensor import Tensor
from ._util import CTYPE, CudaHookBase, aligned16

FORMATS = ("NF4", "AWQ", "GPTQ")
OUT_DTYPES = (_dt.f32, _dt.f16, _dt.bf16)
GEMV_MB = (1, 2, 4, 8)
GEMV_MAX_M = 32
"""Rows of x up to which quant_matmul runs GEMV launches (8 rows each); more take the tiles."""
TILE_BYTES = 64 << 20
"""Largest f32 weight tile of the tiled path (a multiple of 64 rows)."""


def int4_params(fmt: str, act: bool) -> Params:
    """Template parameters shared by the int4 kernels of ``fmt`` (with or without act-order g_idx)."""
    return (("F", fmt.lower()), ("FU", fmt), ("ACT", int(act)), ("NFAST", int(fmt != "NF4")))


def dequant_params(fmt: str, act: bool, dt: _dt.DType) -> Params:
    return (*int4_params(fmt, act), ("T", CTYPE[dt]), ("N", dt.name))


def _wargs(w: Any) -> list[Any]:
    """The ``W4_ARGS`` of int4.cuh: qw, sc, qz, gi pointers (None = null), N, K, gs, zoff."""
    n, k = w.shape
    return [w.data, w.scales, w.zeros, w.g_idx, n, k, w.group_size, w.zero_offset]


class CudaQuantInt4(CudaHookBase):
    """``_int4_dequantize`` / ``_int4_matmul`` for NF4, AWQ and GPTQ (see ``traits/quant_int4.py``)."""

    int4_caps: ClassVar[dict[str, frozenset[str]]] = {"dequantize": frozenset(FORMATS),
                                                      "quant_matmul": frozenset(FORMATS)}  # fmt: skip
    int4_dequant_dtypes: frozenset[_dt.DType] = frozenset(OUT_DTYPES)

    def _int4_dequantize(self, w: Any, out: Tensor) -> None:
        self._int4_rows(w, out, 0, w.shape[0])

    def _int4_rows(self, w: Any, out: Tensor, n0: int, n1: int) -> None:
        """Rows ``[n0, n1)`` of W into ``out [n1 - n0, K]`` (contiguous)."""
        fmt = w.format.name
        nch = (n1 - n0) * (w.shape[1] // 8)
        params = dequant_params(fmt, w.g_idx is not None, out.dtype)
        args = [out, *_wargs(w), n0, nch, int(aligned16(out))]
        self._launch_flat("cuda/quant/int4_dequant.cu", f"int4_dequant_{fmt.lower()}_{out.dtype.name}", params, nch,
                          args)  # fmt: skip

    def _int4_matmul(self, x: Tensor, w: Any, out: Tensor) -> None:
        m = x.shape[0]
        n = w.shape[0]
        if m > GEMV_MAX_M:
            self._int4_tiled(x, w, out)
            return
        if not aligned16(x):  # x rows are read as float4
            x2 = self._new(x.shape, _dt.f32)  # type: ignore[attr-defined]
            self._k_copy(x, x2)  # type: ignore[attr-defined]
            x = x2
        fmt = w.format.name
        params = int4_params(fmt, w.g_idx is not None)
        rpb = 32 if fmt != "NF4" else 8
        for m0 in range(0, m, 8):
            rows = min(8, m - m0)
            mb = next(b for b in GEMV_MB if b >= rows)
            args = [out[m0 : m0 + rows], x[m0 : m0 + rows], rows, *_wargs(w)]
            self._launch("cuda/quant/int4_gemv.cu", f"int4_gemv_{fmt.lower()}_m{mb}", params, -(-n // rpb), 256, args)

    def _int4_tiled(self, x: Tensor, w: Any, out: Tensor) -> None:
        n, k = w.shape
        tn = min(n, max(64, (TILE_BYTES // (4 * k)) // 64 * 64))
        tile = self._new((tn, k), _dt.f32)  # type: ignore[attr-defined]
        cp = self.cp
        with self._scope():
            xv, ov = self._cp_view(x), self._cp_view(out)
            for n0 in range(0, n, tn):
                rows = min(tn, n - n0)
                tv = tile.narrow(0, 0, rows)
                self._int4_rows(w, tv, n0, n0 + rows)
                ov[:, n0 : n0 + rows] = cp.matmul(xv, self._cp_view(tv).T)


def int4_variants() -> list[tuple[str, Params]]:
    """Every (kernel file, params) pair of this module, for ``_variants.kernel_variants``."""
    out: list[tuple[str, Params]] = []
    for fmt in FORMATS:
        for act in (False, True) if fmt == "GPTQ" else (False,):
            out.append(("cuda/quant/int4_gemv.cu", int4_params(fmt, act)))
            out += [("cuda/quant/int4_dequant.cu", dequant_params(fmt, act, d)) for d in OUT_DTYPES]
    return out


__all__ = ["CudaQuantInt4", "int4_variants"]
