"""Quantizers of the K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and of Q8_K (256-weight super-blocks).

Block layouts: see ``kquants.py``. Faithful f32 ports of llama.cpp's reference quantizers
(no importance matrix): sub-block scales and mins from ``make_qkx2_quants`` (Q2_K: 16 x 16
with |x| weights and MAD; Q4_K/Q5_K: 8 x 32 with ``sqrt(mean x^2) + |x|`` weights),
``make_q3_quants`` (Q3_K) or ``make_qx_quants`` (Q6_K, rmse_type 1), then 4/6/8-bit super-block
quantization of those scales and a requantization of the weights with the stored scales.
Q8_K: ``d = max / -127`` by the signed absolute max, ``q = nearest_int(x / d)``, bsums per 16.
Reference: llama.cpp ``quantize_row_q2_K_ref`` ... ``quantize_row_q6_K_ref``, ``quantize_row_q8_K_ref``,
``make_qx_quants``, ``make_q3_quants``, ``make_qkx2_quants`` (ggml-quants.c).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._common import F0, F1, nearest_int, put_f16, put_f32, put_u16
from .kquants import q3k_scale, scale_min_k4

CODES = {"Q2_K": 0, "Q3_K": 1, "Q4_K": 2, "Q5_K": 3, "Q6_K": 4, "Q8_K": 5}
EPS = np.float32(1e-15)
F01 = np.float32(0.1)


def prepare(code: int, x: np.ndarray, be: int) -> np.ndarray:
    """No per-block inputs: an empty aux array."""
    return np.zeros(0, dtype=np.float32)


@nb.njit(inline="always")
def _signed_max(x, xo, n):  # type: ignore[no-untyped-def]
    amax = F0
    mx = F0
    for i in range(n):
        ax = abs(x[xo + i])
        if ax > amax:
            amax = ax
            mx = x[xo + i]
    return amax, mx


@nb.njit(cache=True)
def make_qx_quants(n, nmax, x, xo, big_l, lo):  # type: ignore[no-untyped-def]
    """``make_qx_quants`` with rmse_type 1 (weights x^2), no importance: returns the scale."""
    amax, mx = _signed_max(x, xo, n)
    if amax < EPS:
        for i in range(n):
            big_l[lo + i] = 0
        return F0
    iscale = np.float32(-nmax) / mx
    sumlx = F0
    suml2 = F0
    for i in range(n):
        v = x[xo + i]
        lv = max(-nmax, min(nmax - 1, nearest_int(iscale * v)))
        big_l[lo + i] = lv + nmax
        wt = v * v
        sumlx += wt * v * np.float32(lv)
        suml2 += wt * np.float32(lv) * np.float32(lv)
    scale = sumlx / suml2 if suml2 != 0 else F0
    best = scale * sumlx
    for step in range(-9, 10):
        if step == 0:
            continue
        iscale = -(np.float32(nmax) + F01 * np.float32(step)) / mx
        sumlx = F0
        suml2 = F0
        for i in range(n):
            v = x[xo + i]
            lv = np.float32(max(-nmax, min(nmax - 1, nearest_int(iscale * v))))
            wt = v * v
            sumlx += wt * v * lv
            suml2 += wt * lv * lv
        if suml2 > 0 and sumlx * sumlx > best * suml2:
            for i in range(n):
                big_l[lo + i] = nmax + max(-nmax, min(nmax - 1, nearest_int(iscale * x[xo + i])))
            scale = sumlx / suml2
            best = scale * sumlx
    return scale


@nb.njit(cache=True)
def make_q3_quants(n, nmax, x, xo, big_l, lo):  # type: ignore[no-untyped-def]
    """``make_q3_quants`` with do_rmse: returns the scale, ``big_l`` offset by nmax."""
    amax, mx = _signed_max(x, xo, n)
    if amax < EPS:
        for i in range(n):
            big_l[lo + i] = 0
        return F0
    iscale = np.float32(-nmax) / mx
    sumlx = F0
    suml2 = F0
    for i in range(n):
        v = x[xo + i]
        lv = max(-nmax, min(nmax - 1, nearest_int(iscale * v)))
        big_l[lo + i] = lv
        wt = v * v
        sumlx += wt * v * np.float32(lv)
        suml2 += wt * np.float32(lv) * np.float32(lv)
    for _ in range(5):
        changed = 0
        for i in range(n):
            v = x[xo + i]
            wt = v * v
            li = np.float32(big_l[lo + i])
            slx = sumlx - wt * v * li
            if slx > 0:
                sl2 = suml2 - wt * li * li
                new_l = max(-nmax, min(nmax - 1, nearest_int(v * sl2 / slx)))
                if new_l != big_l[lo + i]:
                    slx += wt * v * np.float32(new_l)
                    sl2 += wt * np.float32(new_l) * np.float32(new_l)
                    if sl2 > 0 and slx * slx * suml2 > sumlx * sumlx * sl2:
                        big_l[lo + i] = new_l
                        sumlx = slx
                        suml2 = sl2
                        changed += 1
        if changed == 0:
            break
    for i in range(n):
        big_l[lo + i] += nmax
    return sumlx / suml2 if suml2 > 0 else F0


@nb.njit(cache=True)
def make_qkx2_quants(n, nmax, x, xo, wts, big_l, lo, laux, rmin, rdelta, nstep, use_mad):  # type: ignore[no-untyped-def]
    """``make_qkx2_quants``: returns (scale, the_min) with ``x ~ scale * L - the_min``."""
    mn = x[xo]
    mx = x[xo]
    sum_w = wts[0]
    sum_x = sum_w * x[xo]
    for i in range(1, n):
        v = x[xo + i]
        mn = min(mn, v)
        mx = max(mx, v)
        sum_w += wts[i]
        sum_x += wts[i] * v
    if mn > 0:
        mn = F0
    if mx == mn:
        for i in range(n):
            big_l[lo + i] = 0
        return F0, -mn
    iscale = np.float32(nmax) / (mx - mn)
    scale = F1 / iscale
    best_error = F0
    for i in range(n):
        lv = max(0, min(nmax, nearest_int(iscale * (x[xo + i] - mn))))
        big_l[lo + i] = lv
        diff = scale * np.float32(lv) + mn - x[xo + i]
        best_error += wts[i] * (abs(diff) if use_mad else diff * diff)
    for step in range(nstep + 1):
        iscale = (rmin + rdelta * np.float32(step) + np.float32(nmax)) / (mx - mn)
        sum_l = F0
        sum_l2 = F0
        sum_xl = F0
        for i in range(n):
            lv = max(0, min(nmax, nearest_int(iscale * (x[xo + i] - mn))))
            laux[i] = lv
            fl = np.float32(lv)
            sum_l += wts[i] * fl
            sum_l2 += wts[i] * fl * fl
            sum_xl += wts[i] * fl * x[xo + i]
        det = sum_w * sum_l2 - sum_l * sum_l
        if det > 0:
            this_scale = (sum_w * sum_xl - sum_x * sum_l) / det
            this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det
            if this_min > 0:
                this_min = F0
                this_scale = sum_xl / sum_l2
            cur = F0
            for i in range(n):
                diff = this_scale * np.float32(laux[i]) + this_min - x[xo + i]
                cur += wts[i] * (abs(diff) if use_mad else diff * diff)
            if cur < best_error:
                for i in range(n):
                    big_l[lo + i] = laux[i]
                best_error = cur
                scale = this_scale
                mn = this_min
    return scale, -mn


@nb.njit(inline="always")
def _pack2(big_l, w, qo):  # type: ignore[no-untyped-def]
    for j in range(0, 256, 128):
        for i in range(32):
            e = j + i
            w[qo + j // 4 + i] = big_l[e] | (big_l[e + 32] << 2) | (big_l[e + 64] << 4) | (big_l[e + 96] << 6)


@nb.njit(inline="always")
def _pack_k4_scales(w, so, ls, lm):  # type: ignore[no-untyped-def]
    for j in range(12):
        w[so + j] = 0
    for j in range(8):
        if j < 4:
            w[so + j] = ls[j]
            w[so + j + 4] = lm[j]
        else:
            w[so + j + 4] = (ls[j] & 15) | ((lm[j] & 15) << 4)
            w[so + j - 4] |= (ls[j] >> 4) << 6
            w[so + j] |= (lm[j] >> 4) << 6


@nb.njit(cache=True)
def _q2_k(x, xo, w, o, big_l, laux, wts, scales, mins):  # type: ignore[no-untyped-def]
    max_scale = F0
    max_min = F0
    for j in range(16):
        for i in range(16):
            wts[i] = abs(x[xo + 16 * j + i])
        scales[j], mins[j] = make_qkx2_quants(
            16, 3, x, xo + 16 * j, wts, big_l, 16 * j, laux, np.float32(-0.5), F01, 15, True
        )
        max_scale = max(max_scale, scales[j])
        max_min = max(max_min, mins[j])
    q4 = np.float32(15.0)
    for j in range(16):
        w[o + j] = 0
    if max_scale > 0:
        iscale = q4 / max_scale
        for j in range(16):
            w[o + j] = nearest_int(iscale * scales[j]) & 0xFF
        d = put_f16(w, o + 80, max_scale / q4)
    else:
        d = put_f16(w, o + 80, F0)
    if max_min > 0:
        iscale = q4 / max_min
        for j in range(16):
            w[o + j] |= (nearest_int(iscale * mins[j]) << 4) & 0xFF
        dmin = put_f16(w, o + 82, max_min / q4)
    else:
        dmin = put_f16(w, o + 82, F0)
    for j in range(16):
        sc = np.int64(w[o + j])
        dl = d * np.float32(sc & 15)
        if dl == 0:
            continue
        dm = dmin * np.float32(sc >> 4)
        for i in range(16):
            big_l[16 * j + i] = max(0, min(3, nearest_int((x[xo + 16 * j + i] + dm) / dl)))
    _pack2(big_l, w, o + 16)


@nb.njit(cache=True)
def _q3_k(x, xo, w, o, big_l, scales):  # type: ignore[no-untyped-def]
    max_scale = F0
    amax = F0
    for j in range(16):
        scales[j] = make_q3_quants(16, 4, x, xo + 16 * j, big_l, 16 * j)
        if abs(scales[j]) > amax:
            amax = abs(scales[j])
            max_scale = scales[j]
    for j in range(12):
        w[o + 96 + j] = 0
    if max_scale != 0:
        iscale = np.float32(-32.0) / max_scale
        for j in range(16):
            lv = max(-32, min(31, nearest_int(iscale * scales[j]))) + 32
            if j < 8:
                w[o + 96 + j] = lv & 15
            else:
                w[o + 96 + j - 8] |= (lv & 15) << 4
            w[o + 96 + 8 + j % 4] |= (lv >> 4) << (2 * (j // 4))
        d_all = put_f16(w, o + 108, F1 / iscale)
    else:
        d_all = put_f16(w, o + 108, F0)
    for j in range(16):
        dl = d_all * np.float32(q3k_scale(j, w, o + 96))
        if dl == 0:
            continue
        for i in range(16):
            big_l[16 * j + i] = max(-4, min(3, nearest_int(x[xo + 16 * j + i] / dl))) + 4
    for j in range(32):
        w[o + j] = 0
    for j in range(256):
        if big_l[j] > 3:
            w[o + (j & 31)] |= 1 << (j >> 5)
            big_l[j] -= 4
    _pack2(big_l, w, o + 32)


@nb.njit(cache=True)
def _q45_k(x, xo, w, o, nmax, big_l, laux, wts, scales, mins, ls, lm):  # type: ignore[no-untyped-def]
    max_scale = F0
    max_min = F0
    rmin = np.float32(-1.0) if nmax == 15 else np.float32(-0.5)
    nstep = 20 if nmax == 15 else 15
    for j in range(8):
        s2 = F0
        for i in range(32):
            s2 += x[xo + 32 * j + i] * x[xo + 32 * j + i]
        av_x = np.float32(math.sqrt(s2 / np.float32(32.0)))
        for i in range(32):
            wts[i] = av_x + abs(x[xo + 32 * j + i])
        scales[j], mins[j] = make_qkx2_quants(
            32, nmax, x, xo + 32 * j, wts, big_l, 32 * j, laux, rmin, F01, nstep, False
        )
        max_scale = max(max_scale, scales[j])
        max_min = max(max_min, mins[j])
    c63 = np.float32(63.0)
    inv_scale = c63 / max_scale if max_scale > 0 else F0
    inv_min = c63 / max_min if max_min > 0 else F0
    for j in range(8):
        ls[j] = min(63, nearest_int(inv_scale * scales[j]) & 0xFF)
        lm[j] = min(63, nearest_int(inv_min * mins[j]) & 0xFF)
    _pack_k4_scales(w, o + 4, ls, lm)
    d = put_f16(w, o, max_scale / c63)
    dmin = put_f16(w, o + 2, max_min / c63)
    for j in range(8):
        sc, mn = scale_min_k4(j, w, o + 4)
        dl = d * np.float32(sc)
        if dl == 0:
            continue
        dm = dmin * np.float32(mn)
        for i in range(32):
            big_l[32 * j + i] = max(0, min(nmax, nearest_int((x[xo + 32 * j + i] + dm) / dl)))
    if nmax == 15:
        for j in range(4):
            for i in range(32):
                w[o + 16 + 32 * j + i] = big_l[64 * j + i] | (big_l[64 * j + i + 32] << 4)
    else:
        for i in range(32):
            w[o + 16 + i] = 0
        for j in range(4):
            for i in range(32):
                l1 = big_l[64 * j + i]
                l2 = big_l[64 * j + i + 32]
                if l1 > 15:
                    l1 -= 16
                    w[o + 16 + i] |= 1 << (2 * j)
                if l2 > 15:
                    l2 -= 16
                    w[o + 16 + i] |= 2 << (2 * j)
                w[o + 48 + 32 * j + i] = l1 | (l2 << 4)


@nb.njit(cache=True)
def _q6_k(x, xo, w, o, big_l, scales):  # type: ignore[no-untyped-def]
    max_scale = F0
    max_abs = F0
    for ib in range(16):
        scales[ib] = make_qx_quants(16, 32, x, xo + 16 * ib, big_l, 16 * ib)
        if abs(scales[ib]) > max_abs:
            max_abs = abs(scales[ib])
            max_scale = scales[ib]
    if max_abs < EPS:
        for j in range(210):
            w[o + j] = 0
        return
    iscale = np.float32(-128.0) / max_scale
    d = put_f16(w, o + 208, F1 / iscale)
    for ib in range(16):
        w[o + 192 + ib] = min(127, nearest_int(iscale * scales[ib])) & 0xFF
    for j in range(16):
        sc = np.int64(w[o + 192 + j])
        dl = d * np.float32(sc - 256 if sc > 127 else sc)
        if dl == 0:
            continue
        for i in range(16):
            big_l[16 * j + i] = max(-32, min(31, nearest_int(x[xo + 16 * j + i] / dl))) + 32
    for c in range(2):
        for i in range(32):
            e = 128 * c + i
            q1, q2, q3, q4 = big_l[e], big_l[e + 32], big_l[e + 64], big_l[e + 96]
            w[o + 64 * c + i] = (q1 & 15) | ((q3 & 15) << 4)
            w[o + 64 * c + i + 32] = (q2 & 15) | ((q4 & 15) << 4)
            w[o + 128 + 32 * c + i] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6)


@nb.njit(cache=True)
def _q8_k(x, xo, w, o):  # type: ignore[no-untyped-def]
    amax, mx = _signed_max(x, xo, 256)
    for j in range(288):
        w[o + 4 + j] = 0
    if amax == 0:
        put_f32(w, o, F0)
        return
    iscale = np.float32(-127.0) / mx
    for g in range(16):
        total = 0
        for i in range(16):
            q = min(127, nearest_int(iscale * x[xo + 16 * g + i]))
            total += q
            w[o + 4 + 16 * g + i] = q & 0xFF
        put_u16(w, o + 260 + 2 * g, total & 0xFFFF)
    put_f32(w, o, F1 / iscale)


@nb.njit(cache=True, parallel=True)
def quantize(code, x, nblk, bb, be, w, aux):  # type: ignore[no-untyped-def]
    for b in nb.prange(nblk):
        big_l = np.zeros(256, np.int64)
        laux = np.zeros(32, np.int64)
        wts = np.zeros(32, np.float32)
        scales = np.zeros(16, np.float32)
        mins = np.zeros(16, np.float32)
        ls = np.zeros(8, np.int64)
        lm = np.zeros(8, np.int64)
        xo = b * be
        o = b * bb
        if code == 0:
            _q2_k(x, xo, w, o, big_l, laux, wts, scales, mins)
        elif code == 1:
            _q3_k(x, xo, w, o, big_l, scales)
        elif code == 2 or code == 3:
            _q45_k(x, xo, w, o, 15 if code == 2 else 31, big_l, laux, wts, scales, mins, ls, lm)
        elif code == 4:
            _q6_k(x, xo, w, o, big_l, scales)
        else:
            _q8_k(x, xo, w, o)
