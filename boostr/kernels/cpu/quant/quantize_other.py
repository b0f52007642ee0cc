"""Quantizers of IQ4_NL, IQ4_XS, TQ1_0, TQ2_0 and MXFP4.

Block layouts: see ``iq.py`` and ``ternary_fp4.py``.
- IQ4_NL / IQ4_XS: per 32 weights, a weighted (w = x^2) least-squares scale over the 16
  non-linear levels, searched over 15 starting scales (``ntry = 7``, what ``quantize_iq4_nl`` /
  ``quantize_iq4_xs`` do without an importance matrix); IQ4_XS then stores 6-bit sub-scales of
  an f16 super-scale ``-max_scale / 32`` and re-picks the levels with them.
- TQ1_0 / TQ2_0: ``d = amax``, trit ``roundf(x / d) + 1``; TQ1_0 packs 5 trits per byte as
  ``ceil(v * 256 / 243)`` (4 in the last 4 bytes), TQ2_0 2 bits per weight.
- MXFP4: E8M0 ``e = floor(log2(amax)) - 2 + 127`` (computed with numpy, as gguf-py does),
  ``d = 2^(e - 128)``, each weight the nearest of ``d * kvalues_mxfp4`` (first on ties).
Reference: llama.cpp ``quantize_row_iq4_nl_impl``, ``quantize_iq4_xs``, ``quantize_row_tq1_0_ref``,
``quantize_row_tq2_0_ref``, ``quantize_row_mxfp4_ref`` (ggml-quants.c); TQ1_0, TQ2_0 and MXFP4 are
bit-exact with gguf-py ``gguf.quants.quantize``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._common import F0, F1, nearest_int, put_f16, put_u16
from .quantize_legacy import roundf
from .tables import KVALUES_IQ4NL, KVALUES_MXFP4

CODES = {"IQ4_NL": 0, "IQ4_XS": 1, "TQ1_0": 2, "TQ2_0": 3, "MXFP4": 4}
EPS = np.float32(1e-15)
NTRY = 7
POW3 = np.array([81, 27, 9, 3, 1], dtype=np.int64)


def prepare(code: int, x: np.ndarray, be: int) -> np.ndarray:
    """MXFP4: the per-block E8M0 exponents, computed exactly as gguf-py does; else empty."""
    if code != CODES["MXFP4"]:
        return np.zeros(0, dtype=np.float32)
    d = np.abs(x.reshape(-1, be)).max(axis=-1)
    with np.errstate(divide="ignore"):
        e = np.where(d > 0, np.floor(np.log2(d)) - 2 + 127, 0).astype(np.uint8)
    return e.astype(np.float32)


@nb.njit(inline="always")
def best_index(v):  # type: ignore[no-untyped-def]
    """``best_index_int8(16, kvalues_iq4nl, v)``: the nearest level (midpoints compared doubled)."""
    v2 = v + v
    idx = 0
    step = 8
    while step > 0:
        j = idx + step
        if v2 >= KVALUES_IQ4NL[j - 1] + KVALUES_IQ4NL[j]:
            idx = j
        step >>= 1
    return idx


@nb.njit(inline="always")
def _sums(x, xo, idv):  # type: ignore[no-untyped-def]
    sqx = F0
    sq2 = F0
    for j in range(32):
        v = x[xo + j]
        q = KVALUES_IQ4NL[best_index(idv * v)]
        wt = v * v
        sqx += wt * q * v
        sq2 += wt * q * q
    return sqx, sq2


@nb.njit(cache=True)
def _iq4(x, xo, w, o, nsub, big_l, scales):  # type: ignore[no-untyped-def]
    """``quantize_row_iq4_nl_impl(super = 32 * nsub, block = 32, ntry = 7)`` without importance."""
    v0 = KVALUES_IQ4NL[0]
    max_scale = F0
    amax_scale = F0
    for j in range(32 * nsub):
        big_l[j] = 0
    for ib in range(nsub):
        xb = xo + 32 * ib
        amax = F0
        mx = F0
        for j in range(32):
            if abs(x[xb + j]) > amax:
                amax = abs(x[xb + j])
                mx = x[xb + j]
        if amax < EPS:
            scales[ib] = F0
            continue
        d = -mx / v0
        sqx, sq2 = _sums(x, xb, F1 / d)
        d = sqx / sq2 if sq2 > 0 else F0
        best = d * sqx
        for itry in range(-NTRY, NTRY + 1):
            sqx, sq2 = _sums(x, xb, (np.float32(itry) + v0) / mx)
            if sq2 > 0 and sqx * sqx > best * sq2:
                d = sqx / sq2
                best = d * sqx
        scales[ib] = d
        if abs(d) > amax_scale:
            amax_scale = abs(d)
            max_scale = d
    if nsub > 1:
        d = -max_scale / np.float32(32.0)
        put_f16(w, o, d)
        idv = F1 / d if d != 0 else F0
        sh = 0
        for ib in range(nsub):
            lv = max(-32, min(31, nearest_int(idv * scales[ib])))
            dl = d * np.float32(lv)
            idl = F1 / dl if dl != 0 else F0
            for j in range(32):
                big_l[32 * ib + j] = best_index(idl * x[xo + 32 * ib + j])
            lv += 32
            if ib % 2 == 0:
                w[o + 4 + ib // 2] = lv & 15
            else:
                w[o + 4 + ib // 2] |= (lv & 15) << 4
            sh |= (lv >> 4) << (2 * ib)
        put_u16(w, o + 2, sh)
        qo = o + 8
    else:
        put_f16(w, o, scales[0])
        idv = F1 / scales[0] if scales[0] != 0 else F0
        for j in range(32):
            big_l[j] = best_index(idv * x[xo + j])
        qo = o + 2
    for i in range(nsub):
        for j in range(16):
            w[qo + 16 * i + j] = big_l[32 * i + j] | (big_l[32 * i + 16 + j] << 4)


@nb.njit(cache=True)
def _tq(code, x, xo, w, o, big_l):  # type: ignore[no-untyped-def]
    d = F0
    for j in range(256):
        d = max(d, abs(x[xo + j]))
    idv = F1 / d if d != 0 else F0
    for j in range(256):
        big_l[j] = roundf(x[xo + j] * idv) + 1
    if code == 3:
        for c in range(2):
            for m in range(32):
                e = 128 * c + m
                w[o + 32 * c + m] = big_l[e] | (big_l[e + 32] << 2) | (big_l[e + 64] << 4) | (big_l[e + 96] << 6)
        put_f16(w, o + 64, d)
        return
    for m in range(52):
        if m < 32:
            base, stride, ntr = m, 32, 5
        elif m < 48:
            base, stride, ntr = 160 + m - 32, 16, 5
        else:
            base, stride, ntr = 240 + m - 48, 4, 4
        v = 0
        for n in range(ntr):
            v += big_l[base + n * stride] * POW3[n]
        w[o + m] = ((v * 256 + 242) // 243) & 0xFF
    put_f16(w, o + 52, d)


@nb.njit(cache=True)
def _mxfp4(x, xo, w, o, e):  # type: ignore[no-untyped-def]
    ei = np.int64(e)
    w[o] = ei
    d = np.float32(math.ldexp(1.0, ei - 128))
    for j in range(16):
        pair = 0
        for h in range(2):
            v = x[xo + j + 16 * h]
            best = 0
            err = abs(KVALUES_MXFP4[0] * d - v)
            for i in range(1, 16):
                ei_err = abs(KVALUES_MXFP4[i] * d - v)
                if ei_err < err:
                    best = i
                    err = ei_err
            pair |= best << (4 * h)
        w[o + 1 + j] = pair


@nb.njit(cache=True, parallel=True)
def quantize(code, x, nblk, bb, be, w, aux):  # type: ignore[no-untyped-def]
    for b in nb.prange(nblk):
        big_l = np.zeros(256, np.int64)
        scales = np.zeros(8, np.float32)
        if code == 0 or code == 1:
            _iq4(x, b * be, w, b * bb, 1 if code == 0 else 8, big_l, scales)
        elif code == 2 or code == 3:
            _tq(code, x, b * be, w, b * bb, big_l)
        else:
            _mxfp4(x, b * be, w, b * bb, aux[b])
