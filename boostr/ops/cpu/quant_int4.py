"""CPU hooks of the 4-bit formats (NF4, AWQ, GPTQ): numba kernels of ``kernels/cpu/quant/int4.py``.

- dequantize: all rows, parallel over row tasks;
- quant_matmul, M <= ``GEMV_MAX_M``: the fused GEMV (weights decoded in registers, f32 sums);
- larger M: tiles of ``TILE_FLOATS`` dequantized weights (rows of W, decoded on the calling
  thread) multiplied by numpy's BLAS; the whole float W is never held.
The kernels are imported on first use (importing boostr compiles nothing).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from ...tensor import Tensor
from ._view import np_view

GEMV_MAX_M = 16
TILE_FLOATS = 1 << 20
FORMATS = frozenset({"NF4", "AWQ", "GPTQ"})
_K: list[ModuleType] = []
_NO_GIDX = np.zeros(1, np.int32)


def _k() -> ModuleType:
    if not _K:
        from ...kernels.cpu.quant import int4

        _K.append(int4)
    return _K[0]


def _lut() -> np.ndarray:
    from ...kernels.cpu.quant._common import F16_LUT

    return F16_LUT


def _bufs(w: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(qw u32, scales f32 absmax or u16 f16 bits, qz u32, g_idx i32) numpy views of w's buffers."""
    qw = np_view(w.data).view(np.uint32)
    if w.format == "NF4":
        return qw, np_view(w.scales).view(np.float32), qw[:1], _NO_GIDX
    n, k = w.shape
    sc = np_view(w.scales)[: 2 * (k // w.group_size) * n].view(np.uint16)
    gi = np_view(w.g_idx).view(np.int32) if w.g_idx is not None else _NO_GIDX
    return qw, sc, np_view(w.zeros).view(np.uint32), gi


class CpuQuantInt4:
    """``_int4_dequantize`` / ``_int4_matmul`` for NF4, AWQ and GPTQ (see ``traits/quant_int4.py``)."""

    int4_caps: ClassVar[dict[str, frozenset[str]]] = {"dequantize": FORMATS, "quant_matmul": FORMATS}

    def _int4_dequantize(self, w: Any, out: Tensor) -> None:
        _rows(w, np_view(out), parallel=True)

    def _int4_matmul(self, x: Tensor, w: Any, out: Tensor) -> None:
        xv, ov = np_view(x), np_view(out)
        n, k = w.shape
        if xv.shape[0] <= GEMV_MAX_M:
            _gemv(w, xv, ov)
            return
        tn = min(n, max(8, TILE_FLOATS // k // 8 * 8))
        tile = np.empty((tn, k), np.float32)
        for n0 in range(0, n, tn):
            n1 = min(n, n0 + tn)
            t = tile[: n1 - n0]
            _rows(w, t, n0=n0, n1=n1)
            ov[:, n0:n1] = xv @ t.T  # BLAS into a temporary (matmul into a strided out= is not BLAS)


def _rows(w: Any, out: np.ndarray, n0: int = 0, n1: int = -1, parallel: bool = False) -> None:
    """Rows ``[n0, n1)`` of W into ``out`` (all rows in parallel tasks with ``parallel``)."""
    kk = _k()
    n, k = w.shape
    n1 = n if n1 < 0 else n1
    qw, sc, qz, gi = _bufs(w)
    fmt, gs = w.format.name, w.group_size
    act = w.g_idx is not None
    if parallel:
        ntask, per = kk._tasks(n, 8)
        if fmt == "NF4":
            kk.dequant_nf4(qw, sc, gs, n, k, per, ntask, out)
        elif fmt == "AWQ":
            kk.dequant_awq(qw, sc, qz, _lut(), n, k, gs, per, ntask, out)
        else:
            kk.dequant_gptq(qw, sc, qz, gi, act, w.zero_offset, _lut(), n, k, gs, per, ntask, out)
    elif fmt == "NF4":
        kk.nf4_rows(qw, sc, gs, k, n0, n1, out)
    elif fmt == "AWQ":
        kk.awq_rows(qw, sc, qz, _lut(), n, k, gs, n0, n1, out)
    else:
        kk.gptq_rows(qw, sc, qz, gi, act, w.zero_offset, _lut(), n, k, gs, n0, n1, out)


def _gemv(w: Any, x: np.ndarray, out: np.ndarray) -> None:
    kk = _k()
    n, k = w.shape
    qw, sc, qz, gi = _bufs(w)
    fmt, gs = w.format.name, w.group_size
    if fmt == "NF4":
        ntask, per = kk._tasks(n, 1)
        kk.gemv_nf4(x, qw, sc, gs, n, k, per, ntask, out)
    elif fmt == "AWQ":
        ntask, per = kk._tasks(-(-n // 8), 1)
        kk.gemv_awq(x, qw, sc, qz, _lut(), n, k, gs, per, ntask, out)
    else:
        ntask, per = kk._tasks(n, kk.GB)
        kk.gemv_gptq(x, qw, sc, qz, gi, w.g_idx is not None, w.zero_offset, _lut(), n, k, gs, per, ntask, out)


__all__ = ["CpuQuantInt4"]
