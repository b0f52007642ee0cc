"""RMSNorm, LayerNorm and fused add + RMSNorm over rows (numba, f32/f64 math).

Formulas per row of ``x [R, C]``:
- rms_norm: ``y = x / sqrt(mean(x^2) + eps) * w``
- layer_norm: ``y = (x - mean) / sqrt(var + eps) * w + b`` (biased var, two-pass)
- add_rms_norm: ``s = x + r``; ``y = rms_norm(s) * w``
``w``/``b`` are ``[C]``; ``has_w``/``has_b`` say whether to apply them.
Reference: Zhang & Sennrich 2019 (RMSNorm); Ba et al. 2016 (LayerNorm).
"""

from __future__ import annotations

import math

import numba as nb


@nb.njit(cache=True, parallel=True)
def rms_norm_rows(x, w, has_w, eps, out):  # type: ignore[no-untyped-def]
    rows, cols = x.shape
    for r in nb.prange(rows):
        ss = 0.0
        for c in range(cols):
            ss += x[r, c] * x[r, c]
        inv = 1.0 / math.sqrt(ss / cols + eps)
        for c in range(cols):
            out[r, c] = x[r, c] * inv * (w[c] if has_w else 1.0)


@nb.njit(cache=True, parallel=True)
def layer_norm_rows(x, w, has_w, b, has_b, eps, out):  # type: ignore[no-untyped-def]
    rows, cols = x.shape
    for r in nb.prange(rows):
        mean = 0.0
        for c in range(cols):
            mean += x[r, c]
        mean /= cols
        var = 0.0
        for c in range(cols):
            d = x[r, c] - mean
            var += d * d
        inv = 1.0 / math.sqrt(var / cols + eps)
        for c in range(cols):
            y = (x[r, c] - mean) * inv
            if has_w:
                y *= w[c]
            if has_b:
                y += b[c]
            out[r, c] = y


@nb.njit(cache=True, parallel=True)
def add_rms_norm_rows(x, res, w, has_w, eps, out, sum_out):  # type: ignore[no-untyped-def]
    rows, cols = x.shape
    for r in nb.prange(rows):
        ss = 0.0
        for c in range(cols):
            s = x[r, c] + res[r, c]
            sum_out[r, c] = s
            ss += s * s
        inv = 1.0 / math.sqrt(ss / cols + eps)
        for c in range(cols):
            out[r, c] = sum_out[r, c] * inv * (w[c] if has_w else 1.0)
