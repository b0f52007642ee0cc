"""Fused flash attention forward on the CPU (numba + register-blocked microkernels), with optional ALiBi.

Formula: ``out_i = sum_j softmax_j(q_i . k_j * scale + bias_ij + mask_ij) v_j`` and
``lse_i = log sum_j exp(...)``, FlashAttention-2 style: per (batch, head, query tile) an online
softmax over key tiles (``m' = max(m, colmax s)``, ``l = l e^(m - m') + sum e^(s - m')``,
``acc = acc e^(m - m') + P V``). ALiBi (when ``use_alibi``): ``bias_ij = -slope_h * |p_i - j|``.
The scores are kept in base 2 (q is packed times ``scale * log2 e``, slopes likewise), so the
softmax exponentials are ``2^(s - m)``: a rint, a degree-6 polynomial and a ``vscalefps``
(``attention_mk._vexp2``); ``lse = m ln 2 + log l`` at the end.
Mask (bottom-right aligned): query i sits at ``p_i = i + kv_len - Sq``; key j is visible iff
``j < kv_len`` and, when ``limited`` (causal or window), ``j <= p_i``, and ``j > p_i - window``
when ``window > 0``. Rows with no visible key give out 0 and lse -inf.

Tiles are stored transposed, ``S^T [keys, queries]``: the score product ``S^T = K Q^T`` has K's
rows as the broadcast operand (no packing of K) and a per-task packed ``Q^T`` as the vector
operand, and its epilogue folds the column maxima (unmasked tiles); the softmax statistics
are column reductions that vectorize across queries without horizontal sums, a key row's
causal mask is one contiguous column range, and ``O^T += V^T P^T`` takes V's rows as the
strided A operand (``V^T`` for free) and ``S^T`` as the B operand as it is. Products run on
``attention_mk`` (8x2 blocks of 16-float vectors with AVX-512), exp on its vector Cephes exp.
Layout: flat row-major matrices q ``[*, Dk]``, k ``[*, Dk]``, v ``[*, Dv]``, out ``[*, Dv]`` (out rows
are q's rows) and a flat lse; sequence s (``seqs[s] = (q_row0, Sq, k_row0, kv_len, lse0)``) has
query (head h, position i) at row ``q_row0 + h * q_hs + i * q_ss``, key (KV head, j) at
``k_row0 + hk * k_hs + j * k_ss`` and lse at ``lse0 + h * l_hs + i * l_ss`` (``strides`` holds
``q_hs, q_ss, k_hs, k_ss, l_hs, l_ss``). ``dense_rows`` gives ``[B, H, S, D]`` batches,
``packed_rows`` varlen's ``[T, H, D]`` packing: one kernel, one launch for any number of
sequences. All f32; query head h reads KV head ``h // (H // Hkv)``; slopes ``[H]``.
``bq`` is a multiple of ``NV_QK * VW``; Dk and Dv are free.
Reference: Dao, "FlashAttention-2" (2023); Press et al., "ALiBi" (2022).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .attention import FAST
from .attention_mk import MK_REVISION, VW, col_exp2, col_max, gemm_qk, gemm_qk_max

assert MK_REVISION == 2, "attention_mk changed: bump the revision here too (rebuilds the numba cache)"

_LOG2E = np.float32(1.4426950408889634)
_LN2 = np.float32(0.6931471805599453)


@nb.njit(cache=True, inline="always", fastmath=FAST)
def bias_and_mask(st, nc, bq, j0, i0, off, limited, window, masked, slope, use_alibi):  # type: ignore[no-untyped-def]
    """Add the ALiBi bias and put -inf on hidden (key row, query column) pairs of ``S^T``."""
    for c in range(nc):
        j = j0 + c
        if use_alibi:
            for i in range(bq):
                st[c, i] -= slope * abs(np.float32(i0 + i + off - j))
        if masked:
            lo = min(bq, max(0, j - i0 - off))  # causal: queries i < lo have p_i < j
            for i in range(lo):
                st[c, i] = -np.inf
            if window > 0:
                hi = max(0, min(bq, j - i0 - off + window))  # queries i >= hi have j <= p_i - window
                for i in range(hi, bq):
                    st[c, i] = -np.inf


@nb.njit(cache=True, parallel=True, fastmath=FAST)
def flash_fwd(q, k, v, out, lse, seqs, strides, nh, hkv, scale, limited, window, slopes, use_alibi, bq, bk):  # type: ignore[no-untyped-def]
    """Dense and packed attention in one kernel (see the module doc for the row addressing)."""
    dk = q.shape[1]
    dv = v.shape[1]
    g = nh // hkv
    q_hs, q_ss, k_hs, k_ss, l_hs, l_ss = strides[0], strides[1], strides[2], strides[3], strides[4], strides[5]
    nseq = seqs.shape[0]
    scale2 = scale * _LOG2E  # scores in base 2: exp(x) = 2^(x log2 e)
    nqb = 0
    for s in range(nseq):
        nqb = max(nqb, (seqs[s, 1] + bq - 1) // bq)
    for t in nb.prange(nseq * nh * nqb):
        r = t % nqb
        qb = r // 2 if r % 2 == 0 else nqb - 1 - r // 2  # zigzag: balances causal work across threads
        bh = t // nqb  # the tiles of one head run back to back: its K and V stay in cache
        sb = bh // nh
        hh = bh % nh
        qrow0, sq, kv_len = seqs[sb, 0] + hh * q_hs, seqs[sb, 1], seqs[sb, 3]
        krow0 = seqs[sb, 2] + (hh // g) * k_hs
        lse0 = seqs[sb, 4] + hh * l_hs
        i0 = qb * bq
        if i0 >= sq:
            continue
        off = kv_len - sq
        i1 = min(sq, i0 + bq)
        nr = i1 - i0
        slope = slopes[hh] * _LOG2E if use_alibi else np.float32(0.0)
        qt = np.zeros((dk, bq), np.float32)  # Q^T of the tile, scaled; padded query columns stay 0
        for rr in range(nr):
            for dd in range(dk):
                qt[dd, rr] = q[qrow0 + (i0 + rr) * q_ss, dd] * scale2
        st = np.empty((bk, bq), np.float32)
        acc = np.zeros((dv, bq), np.float32)  # O^T of the tile
        m = np.full(bq, -np.inf, np.float32)
        lsum = np.zeros(bq, np.float32)
        msub = np.empty(bq, np.float32)
        alpha = np.empty(bq, np.float32)
        tsum = np.empty(bq, np.float32)
        mt = np.empty(bq, np.float32)
        scratch = np.zeros(bq, np.float32)
        jlo = 0
        jhi = kv_len
        if limited:
            jhi = min(kv_len, i1 + off)
        if window > 0:
            jlo = max(0, i0 + off - window + 1)
        for j0 in range(jlo, jhi, bk):
            j1 = min(jhi, j0 + bk)
            nc = j1 - j0
            kr = krow0 + j0 * k_ss
            masked = limited and (j1 - 1 > i0 + off or (window > 0 and j0 <= i1 - 1 + off - window))
            mt[:] = m
            if masked or use_alibi:
                gemm_qk(k, kr * dk, k_ss * dk, 1, qt, 0, bq, st, 0, bq, nc, bq, dk, False, mt)
                bias_and_mask(st, nc, bq, j0, i0, off, limited, window, masked, slope, use_alibi)
                for c0 in range(0, bq, VW):
                    col_max(st, c0, bq, nc, m, c0, mt, c0)
            else:  # the column maxima come out of the score microkernel's epilogue
                gemm_qk_max(k, kr * dk, k_ss * dk, 1, qt, 0, bq, st, 0, bq, nc, bq, dk, False, mt)
            for i in range(bq):
                m_new = mt[i]
                alpha[i] = m[i]
                m[i] = m_new
                msub[i] = np.float32(0.0) if m_new == -np.inf else m_new
                tsum[i] = 0.0
            for c0 in range(0, bq, VW):  # alpha = exp(m_old - m_new): 0 while a column saw no key
                col_exp2(alpha, c0, bq, 1, msub, c0, scratch, c0)
            rescale = False
            for i in range(bq):
                rescale |= alpha[i] != np.float32(1.0)
            for c0 in range(0, bq, VW):
                col_exp2(st, c0, bq, nc, msub, c0, tsum, c0)
            for i in range(bq):
                lsum[i] = lsum[i] * alpha[i] + tsum[i]
            if rescale:
                for dd in range(dv):
                    for i in range(bq):
                        acc[dd, i] *= alpha[i]
            gemm_qk(v, kr * dv, 1, k_ss * dv, st, 0, bq, acc, 0, bq, dv, bq, nc, True, mt)  # O^T += V^T P^T
        for rr in range(nr):
            orow = qrow0 + (i0 + rr) * q_ss
            li = lse0 + (i0 + rr) * l_ss
            if lsum[rr] != 0.0:  # > 0, or NaN from NaN inputs (which must propagate)
                inv = np.float32(1.0) / lsum[rr]
                for dd in range(dv):
                    out[orow, dd] = acc[dd, rr] * inv
                lse[li] = m[rr] * _LN2 + math.log(lsum[rr])
            else:
                for dd in range(dv):
                    out[orow, dd] = 0.0
                lse[li] = -np.inf


def dense_rows(b: int, h: int, hkv: int, sq: int, sk: int, kv_len: int) -> tuple[np.ndarray, np.ndarray]:
    """``(seqs, strides)`` of ``flash_fwd`` for ``[B, H, Sq, D]`` / ``[B, Hkv, Sk, D]`` / lse ``[B, H, Sq]``."""
    bi = np.arange(b, dtype=np.int64)
    seqs = np.stack([bi * h * sq, np.full(b, sq), bi * hkv * sk, np.full(b, kv_len), bi * h * sq], 1)
    return seqs.astype(np.int64), np.array([sq, 1, sk, 1, sq, 1], np.int64)


def packed_rows(cu_q: list[int], cu_k: list[int], h: int, hkv: int) -> tuple[np.ndarray, np.ndarray]:
    """``(seqs, strides)`` of ``flash_fwd`` for packed ``[Tq, H, D]`` / ``[Tk, Hkv, D]`` / lse ``[H, Tq]``."""
    cq, ck = np.asarray(cu_q, np.int64), np.asarray(cu_k, np.int64)
    seqs = np.stack([cq[:-1] * h, np.diff(cq), ck[:-1] * hkv, np.diff(ck), cq[:-1]], 1)
    return seqs.astype(np.int64).reshape(-1, 5), np.array([1, h, 1, hkv, cq[-1], 1], np.int64)


def fwd_tiles(sq: int) -> tuple[int, int]:
    """(query tile, key tile) of ``flash_fwd``: query tiles are multiples of ``NV_QK * VW`` (<= 32) columns."""
    return (32 if sq <= 32 else 64), 128
