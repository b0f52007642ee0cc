"""One decoder layer for one new token (numba): the whole LLaMA block in a single call.

Formula (pre-norm block, the residual stream carried separately, as ``nn.DecoderBlock``)::

    r' = x + r (r = 0 when has_res is False)   h = rms_norm(r') * ln1
    y = h @ Wqkv^T = [q | k | v]                 q, k rotated (RoPE at pos), k, v -> cache[pos]
    a = attention(q, K[jlo:pos+1], V[jlo:pos+1]) (GQA: head i reads KV head i // (H / Hkv))
    r'' = a @ Wo^T + r'                          h2 = rms_norm(r'') * ln2
    out = (silu(h2 @ Wg^T) * (h2 @ Wu^T)) @ Wd^T;  sum_out = r''

Weights are GGML blocks (a format with a fused primitive, see ``kernels/cpu/quant``); the
projections run the quant package's parallel ``run`` kernel through each format's primitive
address, attention the flash-decoding partials of ``attention.py`` over the cache in place (no
copy) and a serial combine; norms and RoPE are serial (a row of E floats): 5 parallel regions
per layer. Arithmetic is f32 and the same as the separate kernels
(``norm.add_rms_norm_rows``, ``rope.rope_rows``), so the fused layer reproduces them.
Layout: ``x, r, out, sum_out [1, 1, E]``, ``ln1, ln2 [E]`` f32 C-contiguous; weights flat uint8;
``meta [5, 6]`` int64 rows ``(prim, N, K, block bytes, block elems, rows per task)`` for qkv, o,
gate, up, down; ``k_cache, v_cache [1, Hkv, S_max, D]`` (the layer's cache);
``cos, sin [1, D/2]`` the rotation row of ``pos``, the new position; keys ``[jlo, pos]`` are attended.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .attention import FAST, flash_decode_partials
from .fastmath import FASTMATH
from .quant import gemv

_run = gemv.run


@nb.njit(cache=True, fastmath=FASTMATH)
def _add_rms_norm(x, r, has_res, w, eps, out, sum_out):  # type: ignore[no-untyped-def]
    """``sum_out = x + r`` (or x), ``out = rms_norm(sum_out) * w`` for one row ``[1, C]``."""
    cols = x.shape[1]
    ss = np.float32(0)
    for c in range(cols):
        s = x[0, c] + r[0, c] if has_res else x[0, c]
        sum_out[0, c] = s
        ss += s * s
    inv = np.float32(1.0 / math.sqrt(ss / cols + eps))
    for c in range(cols):
        out[0, c] = sum_out[0, c] * inv * w[c]


@nb.njit(cache=True, fastmath=True)
def _rope_row(src, so, dst, do, cos, sin, p, half, interleaved):  # type: ignore[no-untyped-def]
    """Rotate the head ``src[so : so + 2 half]`` for position ``p`` into ``dst[do:]``."""
    for kk in range(half):
        c = cos[p, kk]
        sn = sin[p, kk]
        i0 = 2 * kk if interleaved else kk
        i1 = 2 * kk + 1 if interleaved else kk + half
        a = src[so + i0]
        b = src[so + i1]
        dst[do + i0] = a * c - b * sn
        dst[do + i1] = a * sn + b * c


@nb.njit(cache=True, fastmath=FAST)
def _combine(pm, pl, pacc, out):  # type: ignore[no-untyped-def]
    """``out [1, H, D]`` from the chunk partials by log-sum-exp (``attention.flash_decode_combine``
    for one sequence, serial: H * chunks * D multiply-adds are less than a parallel launch)."""
    nh, nch, d = pacc.shape[1], pacc.shape[2], pacc.shape[3]
    for hh in range(nh):
        mx = -np.inf
        for ch in range(nch):
            mx = max(mx, pm[0, hh, ch])
        tot = 0.0
        for dd in range(d):
            out[0, hh, dd] = 0.0
        for ch in range(nch):
            w = math.exp(pm[0, hh, ch] - mx)
            tot += pl[0, hh, ch] * w
            for dd in range(d):
                out[0, hh, dd] += pacc[0, hh, ch, dd] * w
        inv = 1.0 / tot
        for dd in range(d):
            out[0, hh, dd] *= inv


@nb.njit(cache=True)
def _gemv(x, w, w2, mode, meta, i, lut, tab, ks, out):  # type: ignore[no-untyped-def]
    """``out = x @ W^T`` (mode 1) or ``silu(x @ W^T) * (x @ W2^T)`` (mode 2) with row ``i`` of ``meta``."""
    n, k, bb, be = meta[i, 1], meta[i, 2], meta[i, 3], meta[i, 4]
    _run(meta[i, 0], mode, x, 1, 0, w, w2, n, k // be, bb, be, out, lut, tab, ks, meta[i, 5])


@nb.njit(cache=True)
def decode_layer(  # type: ignore[no-untyped-def]
    x3, r3, has_res, ln1, ln2, eps, wqkv, wo, wg, wu, wd, tq, to, tg, td, meta, lut, ks,
    k_cache, v_cache, cos, sin, pos, interleaved, nh, nkv, scale, jlo, chunk, out3, sum3,
):  # fmt: skip
    """The layer for one token (see the module doc); writes ``out``, ``sum_out`` and the caches."""
    e = x3.shape[2]
    x, r, out, sum_out = x3.reshape(1, e), r3.reshape(1, e), out3.reshape(1, e), sum3.reshape(1, e)
    smax, hd = k_cache.shape[2], k_cache.shape[3]
    kc, vc = k_cache.reshape(nkv * smax, hd), v_cache.reshape(nkv * smax, hd)
    half = hd // 2
    h = np.empty((1, e), np.float32)
    _add_rms_norm(x, r, has_res, ln1, eps, h, sum_out)
    y = np.empty(meta[0, 1], np.float32)
    _gemv(h, wqkv, wqkv, 1, meta, 0, lut, tq, ks, y)
    q = np.empty((1, nh, hd), np.float32)
    qf = q.reshape(-1)
    for i in range(nh):
        _rope_row(y, i * hd, qf, i * hd, cos, sin, 0, half, interleaved)
    kf = kc.reshape(-1)
    vf = vc.reshape(-1)
    for i in range(nkv):
        row = (i * smax + pos) * hd
        _rope_row(y, (nh + i) * hd, kf, row, cos, sin, 0, half, interleaved)
        vo = (nh + nkv + i) * hd
        for j in range(hd):
            vf[row + j] = y[vo + j]
    nch = (pos + 1 - jlo + chunk - 1) // chunk
    pm = np.empty((1, nh, nch), np.float32)
    pl = np.empty((1, nh, nch), np.float32)
    pacc = np.empty((1, nh, nch, hd), np.float32)
    flash_decode_partials(q, kc, vc, nkv, smax, pm, pl, pacc, scale, jlo, pos + 1, chunk)
    att = np.empty((1, nh, hd), np.float32)
    _combine(pm, pl, pacc, att)
    a = np.empty((1, e), np.float32)
    _gemv(att.reshape(1, nh * hd), wo, wo, 1, meta, 1, lut, to, ks, a.reshape(-1))
    _add_rms_norm(a, sum_out, True, ln2, eps, h, sum_out)
    f = np.empty((1, meta[2, 1]), np.float32)
    _gemv(h, wg, wu, 2, meta, 2, lut, tg, ks, f.reshape(-1))
    _gemv(f, wd, wd, 1, meta, 4, lut, td, ks, out.reshape(-1))
