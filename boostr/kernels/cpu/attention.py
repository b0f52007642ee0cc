"""CPU attention helpers (numba): the vectorizable ``exp_row`` and flash decoding for Sq == 1.

Formula: ``out_i = sum_j softmax_j(q_i . k_j * scale + mask_ij) v_j``, ``lse_i = log sum_j exp(...)``.
Flash decoding (one query per head) splits the visible keys ``[jlo, jhi)`` in chunks scored in
parallel (partial max, sum and unnormalized output per chunk), then combines the chunks by
log-sum-exp. The prefill forward lives in ``attention_fwd.py`` (register-blocked microkernels),
the backward in ``attention_bwd.py``.
Layout: q ``[B, H, D]``, k/v ``[B, Hkv, Sk, D]`` passed flat as ``[B * Hkv * Sk, D]`` (a key chunk is
a C-contiguous row slice), partials ``[B, H, C(, D)]``, all C-contiguous f32 (the exp below is
f32-specific); query head h reads KV head ``h // (H // Hkv)``. Chunk products go through
``np.dot`` on tiles of at most ``GEMM_MNK`` multiply-adds, which OpenBLAS runs on the calling
thread (the threads are numba's ``prange``).
Reference: Dao et al., "Flash-Decoding for long-context inference" (2023).
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
