"""numba kernels of the GGML block formats: dequantize, fused quantized matmul / SwiGLU, quantize.

One primitive per format (``legacy``, ``kquants``, ``iq``, ``ternary_fp4``): decode blocks, or
dot them with an activation row, specialized to its format at compile time (generic bodies in
``gemv.py``, register vectors in ``simd.py``) and compiled on first use as a cached cfunc; one
parallel kernel (``gemv.run``), compiled once, drives any primitive over tasks of blocks or rows.
A model compiles only the primitives of the formats it holds. The 13 formats of ``FUSED`` run
dequantize, matmul and SwiGLU fused; the others dequantize, and multiply through tiles of
dequantized rows. Quantizers live in ``quantize_*.py``. Importing this package
imports gguf-py (the IQ grids are read from it). The parent package points numba's cache at a
writable directory before any kernel here is decorated.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

from . import iq, kquants, legacy, ternary_fp4
from ._common import F16_LUT
from .gemv import PRIM_SIG, run
from .tables import GRIDS, KSIGNS, KVALUES_IQ4NL, KVALUES_MXFP4

FUSED: dict[str, Any] = {**legacy.FUSED, **kquants.FUSED, **iq.FUSED, **ternary_fp4.FUSED}
"""Formats with a fused matmul: name -> the Python body of its primitive (see ``gemv.py``)."""

_DEQUANT: dict[str, Any] = {**legacy.DEQUANT, **kquants.DEQUANT, **iq.DEQUANT, **ternary_fp4.DEQUANT}
_TABLES = {name: np.ascontiguousarray(g.reshape(-1)) for name, g in GRIDS.items()}
_TABLES.update({"IQ4_NL": KVALUES_IQ4NL, "IQ4_XS": KVALUES_IQ4NL, "MXFP4": KVALUES_MXFP4, "NVFP4": KVALUES_MXFP4})
_TABLES.update(legacy.TABLES)
_EMPTY = np.zeros(1, np.float32)
_LUT = np.concatenate([F16_LUT, np.ldexp(1.0, np.arange(256) - 128).astype(np.float32)])
"""f16 bits -> f32 (65536 entries), then E8M0 byte -> 2^(e-128) (256 entries, MXFP4 scales); exact."""
_NO_X = np.zeros((1, 32), np.float32)  # the x of dequantize calls (unused)
_WORKERS: dict[str, int] = {}
_CFUNCS: list[Any] = []  # keeps the cfunc objects (and their code) alive

FUSED_MATMUL_MAX_ROWS = 16
"""Activation rows up to which quant_matmul runs the fused kernel; above, the tiled BLAS path."""

TILE_FLOATS = 1 << 20
"""Float weights one tile of the dequantize-then-matmul path holds (4 MiB: 1-4 MiB measured within
10% at M = 32..128 on the 2-core dev machine, 4 MiB best).

The tiles are dequantized on the calling thread only: numba's OpenMP workers and OpenBLAS's
threads both spin-wait after their parallel regions, and alternating the two pools tile by tile
on a 2-core machine measured 10-100x slower than serial dequantize + threaded BLAS."""

REGISTER_ROWS = 16
"""Activation rows up to which the fused kernel keeps decoded weights in registers, four rows per
decode; above (when lowered), each weight row is decoded once into an L1 buffer and dotted with
every row. Measured at K = 4096, 1 thread: registers 15-25% faster at M = 8..16 (the 4 rows of x
come from L2 either way), 2x faster at M = 2..4."""

DEQUANT_ELEMS_PER_TASK = 8192
"""Least weights one dequantize task decodes (small tensors run on fewer threads)."""

MATMUL_BYTES_PER_TASK = 16384
"""Least weight bytes one matmul task reads."""


def has_decoder(name: str) -> bool:
    return name in FUSED or name in _DEQUANT


def _worker(name: str) -> int:
    """Address of the compiled primitive of ``name`` (a cfunc of ``PRIM_SIG``, cached on disk by numba)."""
    wk = _WORKERS.get(name)
    if wk is None:
        body = FUSED[name] if name in FUSED else _DEQUANT[name]
        cf = nb.cfunc(PRIM_SIG, cache=True)(body)
        _CFUNCS.append(cf)
        wk = _WORKERS[name] = int(cf.address)  # type: ignore[arg-type]
    return wk


def _per(items: int, least: int) -> int:
    """Items per prange task: up to four tasks per thread of at least ``least`` items, the task count
    a multiple of the thread count where there are enough (numba splits prange statically)."""
    threads = nb.get_num_threads()
    tasks = min(4 * threads, max(1, items // max(least, 1)))
    if tasks > threads:
        tasks -= tasks % threads
    return -(-items // tasks)


def _rows(x: np.ndarray) -> tuple[np.ndarray, int]:
    """``x`` as the kernel takes it, and its number of register groups: for 2..REGISTER_ROWS rows,
    a copy zero-padded to whole groups of 4 rows on a 64-byte boundary (the 4-row path loads x
    from L2, and line-split loads made it ~1.5x slower); otherwise ``x`` itself."""
    m, k = x.shape
    groups = (m + 3) // 4 if 1 < m <= REGISTER_ROWS else 0
    if not groups:
        return x, 0
    raw = np.empty(4 * groups * k + 16, np.float32)
    off = (-raw.__array_interface__["data"][0] % 64) // 4
    xs = raw[off : off + 4 * groups * k].reshape(4 * groups, k)
    xs[:m] = x
    xs[m:] = 0.0
    return xs, groups


def _ro(w: np.ndarray) -> np.ndarray:
    """A flat read-only view, so owned and memory-mapped weights share one specialization of ``run``."""
    w = w.reshape(-1)
    if w.flags.writeable:
        w = w.view()
        w.flags.writeable = False
    return w


def dequant_blocks(name: str, w: np.ndarray, nblk: int, bb: int, be: int, out: np.ndarray) -> None:
    """Decode ``nblk`` blocks of flat uint8 ``w`` into flat f32 ``out`` (``nblk * be`` values)."""
    if nblk:
        w = _ro(w)
        tab = _TABLES.get(name, _EMPTY)
        per = _per(nblk, DEQUANT_ELEMS_PER_TASK // be)
        run(_worker(name), 0, _NO_X, 1, 0, w, w, nblk, 1, bb, be, out, _LUT, tab, KSIGNS, per)


def matmul_rows(name: str, x: np.ndarray, w: np.ndarray, n: int, k: int, bb: int, be: int, out: np.ndarray) -> None:
    """``out [M, N] = x [M, K] @ W[N, K]^T`` for flat uint8 blocks ``w`` (x, out f32 contiguous).

    Up to FUSED_MATMUL_MAX_ROWS rows of x and a format of ``FUSED``: the fused kernel (M = 1:
    weights decoded in registers; M > 1: each weight row decoded once for all rows of x).
    Otherwise tiles of W rows are dequantized once each (at most TILE_FLOATS floats, one pass
    over W per call) and multiplied with BLAS, so the whole float weight is never held.
    """
    w = _ro(w)
    if name in FUSED and x.shape[0] <= FUSED_MATMUL_MAX_ROWS:
        per = _per(n, MATMUL_BYTES_PER_TASK * be // max(k * bb, 1))
        tab = _TABLES.get(name, _EMPTY)
        xs, groups = _rows(x)
        run(_worker(name), 1, xs, x.shape[0], groups, w, w, n, k // be, bb, be, out.reshape(-1), _LUT, tab, KSIGNS, per)
        return
    rb = k // be * bb
    tile = max(1, min(n, TILE_FLOATS // max(k, 1)))
    buf = np.empty(tile * k, dtype=np.float32)
    threads = nb.get_num_threads()
    nb.set_num_threads(1)  # BLAS runs its own threads: never alternate them with numba's (see TILE_FLOATS)
    try:
        for n0 in range(0, n, tile):
            n1 = min(n, n0 + tile)
            t = buf[: (n1 - n0) * k]
            dequant_blocks(name, w[n0 * rb : n1 * rb], (n1 - n0) * (k // be), bb, be, t)
            np.matmul(x, t.reshape(n1 - n0, k).T, out=out[:, n0:n1])
    finally:
        nb.set_num_threads(threads)


def can_fuse_swiglu(name: str, rows: int) -> bool:
    return name in FUSED and rows <= FUSED_MATMUL_MAX_ROWS


def swiglu_rows(
    name: str, x: np.ndarray, wg: np.ndarray, wu: np.ndarray, n: int, k: int, bb: int, be: int, out: np.ndarray
) -> None:
    """``out [M, F] = silu(x @ Wg^T) * (x @ Wu^T)`` in one pass over both weights (``can_fuse_swiglu``)."""
    per = _per(n, MATMUL_BYTES_PER_TASK * be // max(2 * k * bb, 1))
    tab = _TABLES.get(name, _EMPTY)
    wg, wu, o = _ro(wg), _ro(wu), out.reshape(-1)
    xs, groups = _rows(x)
    run(_worker(name), 2, xs, x.shape[0], groups, wg, wu, n, k // be, bb, be, o, _LUT, tab, KSIGNS, per)


__all__ = [
    "DEQUANT_ELEMS_PER_TASK", "FUSED", "FUSED_MATMUL_MAX_ROWS", "MATMUL_BYTES_PER_TASK", "TILE_FLOATS",
    "can_fuse_swiglu", "dequant_blocks", "has_decoder", "matmul_rows", "swiglu_rows",
]  # fmt: skip
