"""Fused flash attention forward on the CPU (numba): prefill tiles and flash decoding.

Formula: ``out_i = sum_j softmax_j(q_i . k_j * scale + mask_ij) v_j``, ``lse_i = log sum_j exp(...)``,
computed FlashAttention-2 style: per (batch, head, query tile) an online softmax over key
tiles (``m' = max(m, rowmax s)``, ``l = l e^(m - m') + sum e^(s - m')``,
``acc = acc e^(m - m') + e^(s - m') V``), accumulating in the arrays' dtype (f32 or f64).
Mask (bottom-right aligned): query i sits at ``p = i + kv_len - Sq``; key j is visible iff
``j < kv_len`` and, when ``limited`` (causal or window), ``j <= p``, and ``j > p - window``
when ``window > 0``. Rows with no visible key give out 0 and lse -inf.
Layout: q ``[B, H, Sq, D]``, k/v ``[B, Hkv, Sk, D]`` passed flat as ``[B * Hkv * Sk, D]`` (so a key
tile is a C-contiguous row slice), out ``[B, H, Sq, D]``, lse ``[B, H, Sq]``,
all C-contiguous f32 (the exp below is f32-specific); query head h reads KV head ``h // (H // Hkv)``.
The tile products go through ``np.dot`` (BLAS) on tiles small enough (``M*N*K <= 2**18``)
that OpenBLAS runs them on the calling thread: the threads are numba's ``prange``.
Reference: Dao, "FlashAttention-2" (2023); flash decoding: Dao et al., "Flash-Decoding" (2023).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

# no 'nnan'/'ninf': masked scores are -inf on purpose
FAST = {"nsz", "arcp", "contract", "reassoc"}
GEMM_MNK = 1 << 18  # OpenBLAS keeps sgemm single-threaded up to 65536 * 4 = 2**18 multiply-adds

_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_LO = np.float32(-87.0)
_P0, _P1, _P2 = np.float32(1.9875691500e-4), np.float32(1.3981999507e-3), np.float32(8.3334519073e-3)
_P3, _P4, _P5 = np.float32(4.1665795894e-2), np.float32(1.6666665459e-1), np.float32(5.0000001201e-1)


@nb.njit(cache=True, inline="always", fastmath=FAST)
def exp_row(s, rr, nc, mref, bits):  # type: ignore[no-untyped-def]
    """``s[rr, :nc] = exp(s[rr, :nc] - mref)`` vectorizably (Cephes expf: 2^n * poly(r)), returns the sum.

    ``bits`` is an int32 scratch of >= nc elements; arguments below -87 give exactly 0.
    """
    for c in range(nc):
        x = s[rr, c] - mref
        xc = max(x, _LO)
        n = np.floor(xc * _LOG2E + np.float32(0.5))
        r = xc - n * _LN2_HI - n * _LN2_LO
        p = ((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5
        s[rr, c] = p * r * r + r + np.float32(1.0)
        bits[c] = 0 if x < _LO else (np.int32(n) + np.int32(127)) << np.int32(23)
    scl = bits.view(np.float32)
    tot = np.float32(0.0)
    for c in range(nc):
        e = s[rr, c] * scl[c]
        s[rr, c] = e
        tot += e
    return tot


def tile_sizes(d: int) -> tuple[int, int]:
    """(query tile, key tile) with ``bq * bk * d <= GEMM_MNK``."""
    bq = 64 if d <= 64 else 32
    return bq, max(16, min(128, GEMM_MNK // (bq * d)))


@nb.njit(cache=True, parallel=True, fastmath=FAST)
def flash_fwd(q, k, v, hkv, sk, out, lse, scale, limited, window, kv_len, bq, bk):  # type: ignore[no-untyped-def]
    nbatch, nh, sq, d = q.shape
    g = nh // hkv
    off = kv_len - sq
    nqb = (sq + bq - 1) // bq
    nbh = nbatch * nh
    for t in nb.prange(nbh * nqb):
        r = t // nbh
        qb = r // 2 if r % 2 == 0 else nqb - 1 - r // 2  # zigzag: balances causal work across threads
        bh = t % nbh
        bb = bh // nh
        hh = bh % nh
        base = (bb * hkv + hh // g) * sk
        i0 = qb * bq
        i1 = min(sq, i0 + bq)
        nr = i1 - i0
        qs = np.empty((nr, d), np.float32)
        for rr in range(nr):
            for dd in range(d):
                qs[rr, dd] = q[bb, hh, i0 + rr, dd] * scale
        acc = np.zeros((nr, d), np.float32)
        m = np.full(nr, -np.inf, np.float32)
        lsum = np.zeros(nr, np.float32)
        bits = np.empty(bk, np.int32)
        jlo = 0
        jhi = kv_len
        if limited:
            jhi = min(kv_len, i1 + off)
        if window > 0:
            jlo = max(0, i0 + off - window + 1)
        for j0 in range(jlo, jhi, bk):
            j1 = min(jhi, j0 + bk)
            nc = j1 - j0
            s = np.dot(qs, k[base + j0 : base + j1].T)
            masked = limited and (j1 - 1 > i0 + off or (window > 0 and j0 <= i1 - 1 + off - window))
            for rr in range(nr):
                mx = np.float32(-np.inf)
                if masked:
                    p = i0 + rr + off
                    for c in range(nc):
                        j = j0 + c
                        if j > p or (window > 0 and j <= p - window):
                            s[rr, c] = -np.inf
                for c in range(nc):
                    mx = max(mx, s[rr, c])
                if mx == -np.inf:
                    for c in range(nc):
                        s[rr, c] = 0.0
                    continue
                m_new = max(m[rr], mx)
                alpha = math.exp(m[rr] - m_new)
                lsum[rr] = lsum[rr] * alpha + exp_row(s, rr, nc, m_new, bits)
                m[rr] = m_new
                if alpha != 1.0:
                    for dd in range(d):
                        acc[rr, dd] *= alpha
            acc += np.dot(s, v[base + j0 : base + j1])
        for rr in range(nr):
            if lsum[rr] > 0.0:
                inv = np.float32(1.0) / lsum[rr]
                for dd in range(d):
                    out[bb, hh, i0 + rr, dd] = acc[rr, dd] * inv
                lse[bb, hh, i0 + rr] = m[rr] + math.log(lsum[rr])
            else:
                for dd in range(d):
                    out[bb, hh, i0 + rr, dd] = 0.0
                lse[bb, hh, i0 + rr] = -np.inf


@nb.njit(cache=True, parallel=True, fastmath=FAST)
def flash_decode_partials(q, k, v, hkv, sk, pm, pl, pacc, scale, jlo, jhi, chunk):  # type: ignore[no-untyped-def]
    """One query per head, ``q [B, H, D]``; the keys ``[jlo, jhi)`` split in chunks of ``chunk``.

    Task (b, kv head, chunk) scores the chunk for all G query heads of the KV head (each
    K/V row is read once for the group) and writes its partial max ``pm [B, H, C]``, sum
    ``pl [B, H, C]`` and unnormalized ``pacc [B, H, C, D]``.
    """
    nbatch, nh, d = q.shape
    g = nh // hkv
    nch = pm.shape[2]
    for t in nb.prange(nbatch * hkv * nch):
        ch = t % nch
        hk = (t // nch) % hkv
        bb = t // (nch * hkv)
        j0 = jlo + ch * chunk
        j1 = min(jhi, j0 + chunk)
        qg = np.empty((g, d), np.float32)
        for gg in range(g):
            for dd in range(d):
                qg[gg, dd] = q[bb, hk * g + gg, dd] * scale
        base = (bb * hkv + hk) * sk
        s = np.dot(qg, k[base + j0 : base + j1].T)
        bits = np.empty(j1 - j0, np.int32)
        for gg in range(g):
            mx = np.float32(-np.inf)
            for c in range(j1 - j0):
                mx = max(mx, s[gg, c])
            pl[bb, hk * g + gg, ch] = exp_row(s, gg, j1 - j0, mx, bits)
            pm[bb, hk * g + gg, ch] = mx
        pacc[bb, hk * g : hk * g + g, ch, :] = np.dot(s, v[base + j0 : base + j1])


@nb.njit(cache=True, parallel=True, fastmath=FAST)
def flash_decode_combine(pm, pl, pacc, out, lse):  # type: ignore[no-untyped-def]
    """Combine chunk partials by log-sum-exp: ``out [B, H, D]``, ``lse [B, H]``."""
    nbatch, nh, nch = pm.shape
    d = pacc.shape[3]
    for t in nb.prange(nbatch * nh):
        bb = t // nh
        hh = t % nh
        mx = -np.inf
        for ch in range(nch):
            mx = max(mx, pm[bb, hh, ch])
        tot = 0.0
        for dd in range(d):
            out[bb, hh, dd] = 0.0
        for ch in range(nch):
            w = math.exp(pm[bb, hh, ch] - mx)
            tot += pl[bb, hh, ch] * w
            for dd in range(d):
                out[bb, hh, dd] += pacc[bb, hh, ch, dd] * w
        inv = 1.0 / tot
        for dd in range(d):
            out[bb, hh, dd] *= inv
        lse[bb, hh] = mx + math.log(tot)
