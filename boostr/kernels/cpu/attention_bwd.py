"""Fused flash attention backward on the CPU (numba), FlashAttention-2 style.

Formula (per query i, key j, recomputing P from the forward's log-sum-exp):
``p_ij = exp(q_i . k_j * scale - lse_i)`` (0 where masked), ``delta_i = dout_i . out_i``,
``dv_j += p_ij dout_i``, ``ds_ij = p_ij (dout_i . v_j - delta_i)``,
``dq_i += ds_ij k_j * scale``, ``dk_j += ds_ij q_i * scale``.
Two race-free kernels: ``flash_bwd_dkdv`` owns a (batch, KV head, key tile) and loops over
the G query heads of the group and the queries that can see the tile; ``flash_bwd_dq`` owns a
(batch, head, query tile). Mask: as in ``attention.py`` (bottom-right aligned).
Layout: q/dout ``[B, H, Sq, D]`` and k/v ``[B, Hkv, Sk, D]`` passed flat as ``[rows, D]`` (tiles are
C-contiguous row slices), lse/delta ``[B, H, Sq]``, dq ``[B, H, Sq, D]``, dk/dv ``[B, Hkv, Sk, D]``;
all f32. Tile products use ``np.dot`` on tiles of at most ``GEMM_MNK`` multiply-adds (see attention.py).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .attention import FAST, exp_row


@nb.njit(cache=True, inline="always", fastmath=FAST)
def _probs(s, lse, bb, hh, i0, j0, off, limited, window, bits):  # type: ignore[no-untyped-def]
    """In place: ``s[r, c] = exp(s[r, c] - lse_r)``, 0 where masked or where the row saw no key."""
    nr, nc = s.shape
    for rr in range(nr):
        li = lse[bb, hh, i0 + rr]
        p = i0 + rr + off
        for c in range(nc):
            j = j0 + c
            if li == -np.inf or (limited and (j > p or (window > 0 and j <= p - window))):
                s[rr, c] = -np.inf
        exp_row(s, rr, nc, li if li != -np.inf else np.float32(0.0), bits)


@nb.njit(cache=True, inline="always", fastmath=FAST)
def _dscores(p, dp, delta, bb, hh, i0):  # type: ignore[no-untyped-def]
    """In place: ``dp[r, c] = p[r, c] * (dp[r, c] - delta_r)``."""
    nr, nc = p.shape
    for rr in range(nr):
        di = delta[bb, hh, i0 + rr]
        for c in range(nc):
            dp[rr, c] = p[rr, c] * (dp[rr, c] - di)


@nb.njit(cache=True, parallel=True, fastmath=FAST)
def flash_bwd_dkdv(q, k, v, dout, lse, delta, dk, dv, scale, limited, window, kv_len, bq, bk):  # type: ignore[no-untyped-def]
    nbatch, nh, sq = lse.shape
    hkv, sk, d = dk.shape[1], dk.shape[2], dk.shape[3]
    g = nh // hkv
    off = kv_len - sq
    nkb = (kv_len + bk - 1) // bk
    for t in nb.prange(nbatch * hkv * nkb):
        kb = t % nkb
        hk = (t // nkb) % hkv
        bb = t // (nkb * hkv)
        j0 = kb * bk
        j1 = min(kv_len, j0 + bk)
        kbase = (bb * hkv + hk) * sk
        ktile = k[kbase + j0 : kbase + j1]
        vtile = v[kbase + j0 : kbase + j1]
        dka = np.zeros((j1 - j0, d), np.float32)
        dva = np.zeros((j1 - j0, d), np.float32)
        bits = np.empty(j1 - j0, np.int32)
        ilo = max(0, j0 - off) if limited else 0
        ihi = min(sq, j1 - 1 + window - off) if window > 0 else sq
        for gg in range(g):
            hh = hk * g + gg
            qbase = (bb * nh + hh) * sq
            for i0 in range(ilo, ihi, bq):
                i1 = min(ihi, i0 + bq)
                qs = q[qbase + i0 : qbase + i1] * scale
                dot = dout[qbase + i0 : qbase + i1]
                p = np.dot(qs, ktile.T)
                _probs(p, lse, bb, hh, i0, j0, off, limited, window, bits)
                dva += np.dot(p.T, dot)
                ds = np.dot(dot, vtile.T)
                _dscores(p, ds, delta, bb, hh, i0)
                dka += np.dot(ds.T, qs)
        dk[bb, hk, j0:j1, :] = dka
        dv[bb, hk, j0:j1, :] = dva


@nb.njit(cache=True, parallel=True, fastmath=FAST)
def flash_bwd_dq(q, k, v, dout, lse, delta, dq, hkv, sk, scale, limited, window, kv_len, bq, bk):  # type: ignore[no-untyped-def]
    nbatch, nh, sq = lse.shape
    d = dq.shape[3]
    g = nh // hkv
    off = kv_len - sq
    nqb = (sq + bq - 1) // bq
    for t in nb.prange(nbatch * nh * nqb):
        qb = t % nqb
        hh = (t // nqb) % nh
        bb = t // (nqb * nh)
        i0 = qb * bq
        i1 = min(sq, i0 + bq)
        qbase = (bb * nh + hh) * sq
        kbase = (bb * hkv + hh // g) * sk
        qs = q[qbase + i0 : qbase + i1] * scale
        dot = dout[qbase + i0 : qbase + i1]
        acc = np.zeros((i1 - i0, d), np.float32)
        bits = np.empty(bk, np.int32)
        jlo = max(0, i0 + off - window + 1) if window > 0 else 0
        jhi = min(kv_len, i1 + off) if limited else kv_len
        for j0 in range(jlo, jhi, bk):
            j1 = min(jhi, j0 + bk)
            ktile = k[kbase + j0 : kbase + j1]
            p = np.dot(qs, ktile.T)
            _probs(p, lse, bb, hh, i0, j0, off, limited, window, bits)
            ds = np.dot(dot, v[kbase + j0 : kbase + j1].T)
            _dscores(p, ds, delta, bb, hh, i0)
            acc += np.dot(ds, ktile)
        dq[bb, hh, i0:i1, :] = acc * scale
