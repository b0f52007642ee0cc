"""numba kernels of the GGML block formats: dequantize, fused quantized matmul, quantize.

One module per family (``legacy``, ``kquants``, ``iq``, ``ternary_fp4``); each exposes a
``decode_block`` dispatcher over its formats (by a small code), a parallel ``dequant``
kernel and a fused ``matmul`` kernel, so that a model of one family compiles one
kernel of each. Quantizers live in ``quantize_*.py``. Importing this package imports
gguf-py (the IQ grids are read from it). The parent package points numba's cache at a
writable directory before any kernel here is decorated.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from . import gemv, iq, kquants, legacy, ternary_fp4
from ._common import F16_LUT
from .tables import GRIDS, KSIGNS, NO_GRID

_DECODERS: dict[str, tuple[ModuleType, int]] = {
    name: (mod, code) for mod in (legacy, kquants, iq, ternary_fp4) for name, code in mod.CODES.items()
}

FUSED_MATMUL_MAX_ROWS = 16
"""Activation rows up to which quant_matmul runs the fused kernel; above, the tiled BLAS path."""

TILE_FLOATS = 1 << 20
"""Float weights one tile of the dequantize-then-matmul path may hold (4 MiB)."""


def has_decoder(name: str) -> bool:
    return name in _DECODERS


def dequant_blocks(name: str, w: np.ndarray, nblk: int, bb: int, be: int, out: np.ndarray) -> None:
    """Decode ``nblk`` blocks of flat uint8 ``w`` into flat f32 ``out`` (``nblk * be`` values)."""
    mod, code = _DECODERS[name]
    if nblk:
        mod.dequant(code, w, nblk, bb, be, out, F16_LUT, GRIDS.get(name, NO_GRID), KSIGNS)


def matmul_rows(name: str, x: np.ndarray, w: np.ndarray, n: int, k: int, bb: int, be: int, out: np.ndarray) -> None:
    """``out [M, N] = x [M, K] @ W[N, K]^T`` for flat uint8 blocks ``w`` (x, out f32 contiguous).

    Up to FUSED_MATMUL_MAX_ROWS rows of x: a fused kernel, prange over N (``gemv`` decodes
    Q4_0/Q4_1/Q8_0/Q4_K/Q6_K in registers; the family kernels decode each block into a
    buffer). More rows: tiles of W rows are dequantized (at most TILE_FLOATS floats) and
    multiplied with BLAS, so the whole float weight is never held.
    """
    mod, code = _DECODERS[name]
    nbpr = k // be
    if x.shape[0] <= FUSED_MATMUL_MAX_ROWS and name in gemv.CODES:
        gemv.gemv(gemv.CODES[name], x, w.reshape(n, nbpr * bb), n, nbpr, bb, out, F16_LUT)
        return
    if x.shape[0] <= FUSED_MATMUL_MAX_ROWS:
        mod.matmul(code, x, w, n, nbpr, bb, be, out, F16_LUT, GRIDS.get(name, NO_GRID), KSIGNS)
        return
    rb = nbpr * bb
    tile = max(1, min(n, TILE_FLOATS // max(k, 1)))
    buf = np.empty(tile * k, dtype=np.float32)
    for n0 in range(0, n, tile):
        n1 = min(n, n0 + tile)
        t = buf[: (n1 - n0) * k]
        dequant_blocks(name, w[n0 * rb : n1 * rb], (n1 - n0) * nbpr, bb, be, t)
        out[:, n0:n1] = x @ t.reshape(n1 - n0, k).T


__all__ = ["FUSED_MATMUL_MAX_ROWS", "TILE_FLOATS", "dequant_blocks", "has_decoder", "matmul_rows"]
