"""Paged attention on the CPU (numba): one task per (sequence, head, query), online softmax.

Formula: ``out_i = sum_t softmax_t(q_i . k_t * scale) v_t`` over the visible keys
``t < last_i`` with ``last_i = ctx_b`` (or ``min(ctx_b, ctx_b - Sq + i + 1)`` when causal);
key t lives in row ``block_table[b, t // bs] * bs + t % bs`` of the flat cache.
Layout: q/out ``[B, H, Sq, D]`` f32, k/v cache flat ``[N * bs, Hkv, D]`` f32,
block_table ``[B, max_blocks]`` i64 (validated by the caller), context_lens ``[B]`` i64.
Reference: Kwon et al., "Efficient Memory Management for LLM Serving with PagedAttention" (2023).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .attention import FAST


@nb.njit(cache=True, parallel=True, fastmath=FAST)
def paged_attention(q, kflat, vflat, table, lens, bs, scale, causal, out):  # type: ignore[no-untyped-def]
    nbatch, nh, sq, d = q.shape
    g = nh // kflat.shape[1]
    for t in nb.prange(nbatch * nh * sq):
        i = t % sq
        hh = (t // sq) % nh
        bb = t // (sq * nh)
        hk = hh // g
        ctx = lens[bb]
        last = min(ctx, ctx - sq + i + 1) if causal else ctx
        m = -np.inf
        lsum = 0.0
        acc = np.zeros(d, np.float32)
        for tok in range(max(last, 0)):
            row = table[bb, tok // bs] * bs + tok % bs
            s = 0.0
            for dd in range(d):
                s += q[bb, hh, i, dd] * kflat[row, hk, dd]
            s *= scale
            if s > m:
                alpha = math.exp(m - s)
                lsum *= alpha
                for dd in range(d):
                    acc[dd] *= alpha
                m = s
            e = math.exp(s - m)
            lsum += e
            for dd in range(d):
                acc[dd] += e * vflat[row, hk, dd]
        inv = 1.0 / lsum if lsum > 0.0 else 0.0
        for dd in range(d):
            out[bb, hh, i, dd] = acc[dd] * inv
