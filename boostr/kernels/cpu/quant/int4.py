"""numba kernels of the 4-bit formats NF4, AWQ and GPTQ: row-range dequantize and fused GEMV.

Formulas and layouts: ``boostr/quant/int4.py``. Arguments are numpy views of the device byte
streams: ``qw`` u32 words (NF4: the packed bytes, 8 weights a word, K % 8 == 0), ``sc`` u16 f16
bits [G, N] (NF4: f32 absmax), ``qz`` u32 [G, ceil(N/8)], ``gi`` i32 [K] (act-order; ``act``
False: g = k // gs), ``lut`` the f16 -> f32 table. Every kernel decodes into f32 exactly
((q - z) * s is exact in f32; NF4 rounds code * absmax once, as bitsandbytes) and accumulates the
GEMV in f32 against f32 activations.

- ``*_rows(.., n0, n1, out)``: rows ``[n0, n1)`` of W into ``out [n1 - n0, K]`` (serial: the
  tiles of the dequantize-then-BLAS path run on the calling thread, see ``quant/__init__``);
- ``dequant_*``: all rows, prange over row tasks;
- ``gemv_*``: ``out [M, N] = x [M, K] @ W^T``, prange over output column tasks (AWQ: 8 columns
  of one word at a time, the words read once; GPTQ: 16 columns, a row of words read contiguously).
Reference: AutoAWQ packing_utils.dequantize_gemm, AutoGPTQ qlinear_cuda_old forward, bitsandbytes
kDequantizeBlockwise.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ....quant.int4 import AWQ_ORDER, NF4_CODE

CODE = NF4_CODE.copy()
ORDER = np.array(AWQ_ORDER, np.int64)
GB = 16  # GPTQ columns a GEMV step


@nb.njit(cache=True)
def nf4_rows(qw, am, bs, k, n0, n1, out):  # type: ignore[no-untyped-def]
    kw = k // 8
    for nn in range(n0, n1):
        for c in range(kw):
            wd = np.int64(qw[nn * kw + c])
            a = am[(nn * k + 8 * c) // bs]
            for j in range(4):
                b = (wd >> (8 * j)) & 0xFF
                out[nn - n0, 8 * c + 2 * j] = CODE[b >> 4] * a
                out[nn - n0, 8 * c + 2 * j + 1] = CODE[b & 15] * a


@nb.njit(cache=True)
def awq_rows(qw, sc, qz, lut, n, k, gs, n0, n1, out):  # type: ignore[no-untyped-def]
    nw = (n + 7) // 8
    for j in range(n0 // 8, (n1 + 7) // 8):
        for kk in range(k):
            g = kk // gs
            wd = np.int64(qw[kk * nw + j])
            zw = np.int64(qz[g * nw + j])
            for p in range(8):
                col = 8 * j + ORDER[p]
                if n0 <= col < n1:
                    q = (wd >> (4 * p)) & 15
                    z = (zw >> (4 * p)) & 15
                    out[col - n0, kk] = np.float32(q - z) * lut[sc[g * n + col]]


@nb.njit(cache=True)
def gptq_rows(qw, sc, qz, gi, act, zoff, lut, n, k, gs, n0, n1, out):  # type: ignore[no-untyped-def]
    nw = (n + 7) // 8
    for r in range(k // 8):
        for col in range(n0, n1):
            wd = np.int64(qw[r * n + col])
            for j in range(8):
                kk = 8 * r + j
                g = gi[kk] if act else kk // gs
                z = ((np.int64(qz[g * nw + col // 8]) >> (4 * (col % 8))) & 15) + zoff
                out[col - n0, kk] = np.float32(((wd >> (4 * j)) & 15) - z) * lut[sc[g * n + col]]


def _tasks(items: int, align: int) -> tuple[int, int]:
    """(tasks, items per task) for a prange over ``items`` (per-task counts a multiple of ``align``)."""
    threads = nb.get_num_threads()
    per = -(-items // max(1, 4 * threads))
    per = max(align, -(-per // align) * align)
    return -(-items // per), per


@nb.njit(parallel=True, cache=True)
def dequant_nf4(qw, am, bs, n, k, per, ntask, out):  # type: ignore[no-untyped-def]
    for t in nb.prange(ntask):
        n0 = t * per
        n1 = min(n, n0 + per)
        nf4_rows(qw, am, bs, k, n0, n1, out[n0:n1])


@nb.njit(parallel=True, cache=True)
def dequant_awq(qw, sc, qz, lut, n, k, gs, per, ntask, out):  # type: ignore[no-untyped-def]
    for t in nb.prange(ntask):
        n0 = t * per
        n1 = min(n, n0 + per)
        awq_rows(qw, sc, qz, lut, n, k, gs, n0, n1, out[n0:n1])


@nb.njit(parallel=True, cache=True)
def dequant_gptq(qw, sc, qz, gi, act, zoff, lut, n, k, gs, per, ntask, out):  # type: ignore[no-untyped-def]
    for t in nb.prange(ntask):
        n0 = t * per
        n1 = min(n, n0 + per)
        gptq_rows(qw, sc, qz, gi, act, zoff, lut, n, k, gs, n0, n1, out[n0:n1])


@nb.njit(parallel=True, cache=True)
def gemv_nf4(x, qw, am, bs, n, k, per, ntask, out):  # type: ignore[no-untyped-def]
    m = x.shape[0]
    kw = k // 8
    for t in nb.prange(ntask):
        acc = np.zeros(m, np.float32)
        for nn in range(t * per, min(n, t * per + per)):
            acc[:] = 0.0
            for c in range(kw):
                wd = np.int64(qw[nn * kw + c])
                a = am[(nn * k + 8 * c) // bs]
                for j in range(4):
                    b = (wd >> (8 * j)) & 0xFF
                    w0 = CODE[b >> 4] * a
                    w1 = CODE[b & 15] * a
                    kk = 8 * c + 2 * j
                    for i in range(m):
                        acc[i] += w0 * x[i, kk] + w1 * x[i, kk + 1]
            for i in range(m):
                out[i, nn] = acc[i]


@nb.njit(parallel=True, cache=True)
def gemv_awq(x, qw, sc, qz, lut, n, k, gs, per, ntask, out):  # type: ignore[no-untyped-def]
    m = x.shape[0]
    nw = (n + 7) // 8
    for t in nb.prange(ntask):
        acc = np.zeros((m, 8), np.float32)
        s8 = np.zeros(8, np.float32)
        z8 = np.zeros(8, np.int64)
        for j in range(t * per, min(nw, t * per + per)):
            acc[:] = 0.0
            for g in range(k // gs):
                zw = np.int64(qz[g * nw + j])
                for p in range(8):
                    col = min(8 * j + ORDER[p], n - 1)  # padding nibbles: any valid scale
                    s8[p] = lut[sc[g * n + col]]
                    z8[p] = (zw >> (4 * p)) & 15
                for kk in range(g * gs, g * gs + gs):
                    wd = np.int64(qw[kk * nw + j])
                    for p in range(8):
                        wt = np.float32(((wd >> (4 * p)) & 15) - z8[p]) * s8[p]
                        for i in range(m):
                            acc[i, p] += wt * x[i, kk]
            for p in range(8):
                col = 8 * j + ORDER[p]
                if col < n:
                    for i in range(m):
                        out[i, col] = acc[i, p]


@nb.njit(parallel=True, cache=True)
def gemv_gptq(x, qw, sc, qz, gi, act, zoff, lut, n, k, gs, per, ntask, out):  # type: ignore[no-untyped-def]
    m = x.shape[0]
    nw = (n + 7) // 8
    for t in nb.prange(ntask):
        acc = np.zeros((m, GB), np.float32)
        for b0 in range(t * per, min(n, t * per + per), GB):
            b1 = min(n, b0 + GB)
            acc[:] = 0.0
            for r in range(k // 8):
                g0 = (8 * r) // gs
                for col in range(b0, b1):
                    wd = np.int64(qw[r * n + col])
                    zsh = 4 * (col % 8)
                    z0 = ((np.int64(qz[g0 * nw + col // 8]) >> zsh) & 15) + zoff
                    s0 = lut[sc[g0 * n + col]]
                    for j in range(8):
                        kk = 8 * r + j
                        z, s = z0, s0
                        if act:
                            g = gi[kk]
                            z = ((np.int64(qz[g * nw + col // 8]) >> zsh) & 15) + zoff
                            s = lut[sc[g * n + col]]
                        wt = np.float32(((wd >> (4 * j)) & 15) - z) * s
                        for i in range(m):
                            acc[i, col - b0] += wt * x[i, kk]
            for col in range(b0, b1):
                for i in range(m):
                    out[i, col] = acc[i, col - b0]


__all__ = [
    "awq_rows", "dequant_awq", "dequant_gptq", "dequant_nf4", "gemv_awq", "gemv_gptq", "gemv_nf4", "gptq_rows",
    "nf4_rows",
]  # fmt: skip
