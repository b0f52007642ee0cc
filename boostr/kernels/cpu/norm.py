"""RMSNorm, LayerNorm and fused add + RMSNorm over rows (numba, parallel over rows).

Formulas per row of ``x [R, C]``:
- rms_norm: ``y = x * (1 / sqrt(mean(x^2) + eps)) * w``
- layer_norm: ``y = (x - mean) / sqrt(var + eps) * w + b`` (biased var, two-pass)
- add_rms_norm: ``s = x + r``; ``y = rms_norm(s) * w``
Layout: ``x``, ``r``, ``out``, ``sum_out`` are ``[R, C]`` row-major, one float
dtype (f32 or f64); ``w``/``b`` are ``[C]`` of that dtype; ``has_w``/``has_b``
say whether to apply them. Accumulation is in the input dtype (f32 for f32 and
staged half types), with reassociated (SIMD) sums; the per-row scale is
computed in f64 and rounded once. One read of ``x`` per row pass; a row stays in
cache between passes.
Reference: Zhang & Sennrich 2019 (RMSNorm); Ba et al. 2016 (LayerNorm).
"""

from __future__ import annotations

import math

import numba as nb

from .fastmath import FASTMATH


@nb.njit(cache=True, parallel=True, fastmath=FASTMATH)
def rms_norm_rows(x, w, has_w, eps, out):  # type: ignore[no-untyped-def]
    rows, cols = x.shape
    for r in nb.prange(rows):
        ss = x.dtype.type(0)
        for c in range(cols):
            ss += x[r, c] * x[r, c]
        inv = x.dtype.type(1.0 / math.sqrt(ss / cols + eps))
        if has_w:
            for c in range(cols):
                out[r, c] = x[r, c] * inv * w[c]
        else:
            for c in range(cols):
                out[r, c] = x[r, c] * inv


@nb.njit(cache=True, parallel=True, fastmath=FASTMATH)
def layer_norm_rows(x, w, has_w, b, has_b, eps, out):  # type: ignore[no-untyped-def]
    rows, cols = x.shape
    for r in nb.prange(rows):
        acc = x.dtype.type(0)
        for c in range(cols):
            acc += x[r, c]
        mean = x.dtype.type(acc / cols)
        var = x.dtype.type(0)
        for c in range(cols):
            d = x[r, c] - mean
            var += d * d
        inv = x.dtype.type(1.0 / math.sqrt(var / cols + eps))
        for c in range(cols):
            y = (x[r, c] - mean) * inv
            if has_w:
                y *= w[c]
            if has_b:
                y += b[c]
            out[r, c] = y


@nb.njit(cache=True, parallel=True, fastmath=FASTMATH)
def add_rms_norm_rows(x, res, w, has_w, eps, out, sum_out):  # type: ignore[no-untyped-def]
    rows, cols = x.shape
    for r in nb.prange(rows):
        ss = x.dtype.type(0)
        for c in range(cols):
            s = x[r, c] + res[r, c]
            sum_out[r, c] = s
            ss += s * s
        inv = x.dtype.type(1.0 / math.sqrt(ss / cols + eps))
        if has_w:
            for c in range(cols):
                out[r, c] = sum_out[r, c] * inv * w[c]
        else:
            for c in range(cols):
                out[r, c] = sum_out[r, c] * inv
