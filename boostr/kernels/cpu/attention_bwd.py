"""Fused flash attention backward on the CPU (numba + register-blocked microkernels), FlashAttention-2 style.

Formula (per query i, key j, recomputing P from the forward's log-sum-exp; ``qs = q * scale``):
``s_ij = qs_i . k_j - slope_h |p_i - j|`` (the ALiBi term only with ``use_alibi``),
``p_ij = exp(s_ij - lse_i)`` (0 where masked or where the row saw no key: lse is passed as +inf
there), ``delta_i = dout_i . out_i``, ``ds_ij = p_ij (dout_i . v_j - delta_i)``,
``dv_j += p_ij dout_i``, ``dk_j += ds_ij qs_i``, ``dq_i += ds_ij k_j * scale``.
One kernel, five products per (key tile, query tile): a task owns (batch, KV head, split) and
walks its key tiles (every ``nsplit``-th one), so dk and dv are private to it; for each key
tile it packs ``K^T`` and ``V^T`` once and loops over the G query heads and the query tiles
that can see the tile: ``S = Qs K^T`` and ``dP = dO V^T`` (``[queries, keys]`` tiles),
``dV^T += dO^T P`` and ``dK^T += Qs^T dS`` (the transposed operands are free: the microkernel's
A operand is strided) and ``dQ += dS K`` into the task's own ``dq_part[split]`` (summed by the
caller when ``nsplit > 1``). Mask as in ``attention_fwd.py`` (bottom-right aligned).
Layout: qs/dout flat ``[B * H * Sq, D]``, k/v flat ``[B * Hkv * Sk, D]``, lse/delta ``[B, H, Sq]``,
dq_part ``[nsplit, B * H * Sq, D]`` (zeroed), dk/dv ``[B, Hkv, Sk, D]``, slopes ``[H]``; all
C-contiguous f32, ``D`` a multiple of ``NV_QK * VW`` (the caller pads 80 to 96) and ``bk`` too.
Reference: Dao, "FlashAttention-2" (2023), algorithm 2.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .attention import FAST
from .attention_mk import MK_REVISION, gemm_qk, row_exp

assert MK_REVISION == 2, "attention_mk changed: bump the revision here too (rebuilds the numba cache)"


@nb.njit(cache=True, inline="always", fastmath=FAST)
def _mask_rows(s, nq, nc, bk, i0, j0, off, limited, window, slope, use_alibi):  # type: ignore[no-untyped-def]
    """On a ``[queries, keys]`` score tile: add the ALiBi bias and put -inf on hidden pairs."""
    for r in range(nq):
        p = i0 + r + off
        if use_alibi:
            for c in range(nc):
                s[r, c] -= slope * abs(np.float32(p - j0 - c))
        if limited:
            for c in range(max(0, p - j0 + 1), nc):
                s[r, c] = -np.inf
            if window > 0:
                for c in range(min(nc, max(0, p - window - j0 + 1))):
                    s[r, c] = -np.inf
        for c in range(nc, bk):
            s[r, c] = -np.inf  # padded keys


@nb.njit(cache=True, parallel=True, fastmath=FAST)
def flash_bwd(qs, k, v, dout, lse, delta, dq_part, dk, dv, limited, window, kv_len, slopes, use_alibi, bq, bk, nsplit):  # type: ignore[no-untyped-def]
    nbatch, nh, sq = lse.shape
    hkv, sk, d = dk.shape[1], dk.shape[2], dk.shape[3]
    g = nh // hkv
    off = kv_len - sq
    nkb = (kv_len + bk - 1) // bk
    for t in nb.prange(nbatch * hkv * nsplit):
        split = t % nsplit
        hk = (t // nsplit) % hkv
        bb = t // (nsplit * hkv)
        kbase = (bb * hkv + hk) * sk
        kt = np.zeros((d, bk), np.float32)
        vt = np.zeros((d, bk), np.float32)
        s = np.empty((bq, bk), np.float32)
        dp = np.empty((bq, bk), np.float32)
        dkt = np.empty((d, bk), np.float32)
        dvt = np.empty((d, bk), np.float32)
        for kb in range(split, nkb, nsplit):
            j0 = kb * bk
            j1 = min(kv_len, j0 + bk)
            nc = j1 - j0
            for c in range(nc):
                for dd in range(d):
                    kt[dd, c] = k[kbase + j0 + c, dd]
                    vt[dd, c] = v[kbase + j0 + c, dd]
            for c in range(nc, bk):
                for dd in range(d):
                    kt[dd, c] = 0.0
                    vt[dd, c] = 0.0
            dkt[:, :] = 0.0
            dvt[:, :] = 0.0
            ilo = max(0, j0 - off) if limited else 0
            ihi = min(sq, j1 - 1 + window - off) if window > 0 else sq
            for gg in range(g):
                hh = hk * g + gg
                slope = slopes[hh] if use_alibi else np.float32(0.0)
                qbase = (bb * nh + hh) * sq
                for i0 in range(ilo, ihi, bq):
                    nq = min(ihi, i0 + bq) - i0
                    row = qbase + i0
                    gemm_qk(qs, row * d, d, 1, kt, 0, bk, s, 0, bk, nq, bk, d, False, s)
                    masked = limited and (j1 - 1 > i0 + off or (window > 0 and j0 <= i0 + nq - 1 + off - window))
                    if masked or use_alibi or nc < bk:
                        _mask_rows(s, nq, nc, bk, i0, j0, off, limited and masked, window, slope, use_alibi)
                    for r in range(nq):
                        row_exp(s, r * bk, bk, lse[bb, hh, i0 + r])
                    gemm_qk(dout, row * d, d, 1, vt, 0, bk, dp, 0, bk, nq, bk, d, False, s)
                    for r in range(nq):
                        de = delta[bb, hh, i0 + r]
                        for c in range(bk):
                            dp[r, c] = s[r, c] * (dp[r, c] - de)
                    gemm_qk(dout, row * d, 1, d, s, 0, bk, dvt, 0, bk, d, bk, nq, True, s)  # dV^T += dO^T P
                    gemm_qk(qs, row * d, 1, d, dp, 0, bk, dkt, 0, bk, d, bk, nq, True, s)  # dK^T += Qs^T dS
                    dqo = (split * nbatch * nh * sq + row) * d
                    gemm_qk(dp, 0, bk, 1, k, (kbase + j0) * d, d, dq_part, dqo, d, nq, d, nc, True, s)  # dQ += dS K
            for c in range(nc):
                for dd in range(d):
                    dk[bb, hk, j0 + c, dd] = dkt[dd, c]
                    dv[bb, hk, j0 + c, dd] = dvt[dd, c]


def bwd_tiles(sq: int) -> tuple[int, int]:
    """(query tile, key tile) of ``flash_bwd``: the key tile is a multiple of 32 columns."""
    return 64, (32 if sq <= 32 else 64)
