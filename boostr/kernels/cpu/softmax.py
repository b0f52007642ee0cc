"""Softmax / log-softmax over rows, fused per row (numba, parallel over rows).

Formula: ``m = max(x)``, ``s = sum(exp(x - m))``; softmax ``exp(x - m) / s``,
log-softmax ``x - m - log(s)``. A row holding NaN or +inf, or only -inf, gives
NaN everywhere (as torch: ``exp(inf - inf)`` and ``0 / 0``); -inf entries of
other rows give 0 (log-softmax: -inf).
Layout: ``x [R, C]`` and ``out [R, C]`` row-major, ``C >= 1``.
``softmax_rows_f32``: f32 in and out, f32 accumulation, ``exp_f32`` (SIMD) and
reassociated reductions; three passes over a row that stays in cache.
``softmax_rows``: any float dtype (f64), libm ``exp``, strict IEEE order.
Reference: Bridle 1990; Milakov & Gimelshein 2018 (one-pass max/sum variants).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .fastmath import FASTMATH, exp_f32


@nb.njit(cache=True)
def _row_is_nan(x, r, m):  # type: ignore[no-untyped-def]
    """True when row ``r`` must be all NaN: it holds NaN or +inf, or only -inf (``m`` is its max)."""
    if m == math.inf or m == -math.inf:
        return True
    for c in range(x.shape[1]):
        if x[r, c] != x[r, c]:
            return True
    return False


@nb.njit(cache=True)
def _log_out(x, r, m, ls, out):  # type: ignore[no-untyped-def]
    """``out[r] = x[r] - m - ls`` in strict order (no reassociation: ``m + ls`` would lose bits for large m)."""
    for c in range(x.shape[1]):
        out[r, c] = (x[r, c] - m) - ls


@nb.njit(cache=True, parallel=True, fastmath=FASTMATH)
def softmax_rows_f32(x, out, log):  # type: ignore[no-untyped-def]
    rows, cols = x.shape
    for r in nb.prange(rows):
        m = x[r, 0]
        z = np.float32(0.0)
        for c in range(cols):
            v = x[r, c]
            m = v if v > m else m
            z += v * np.float32(0.0)  # NaN iff the row holds NaN or +-inf
        if z != z and _row_is_nan(x, r, m):
            for c in range(cols):
                out[r, c] = np.float32(np.nan)
            continue
        s = np.float32(0.0)
        if log:
            for c in range(cols):
                s += exp_f32(x[r, c] - m)
            _log_out(x, r, m, math.log(s), out)
        else:
            for c in range(cols):
                e = exp_f32(x[r, c] - m)
                out[r, c] = e
                s += e
            inv = np.float32(1.0) / s
            for c in range(cols):
                out[r, c] *= inv


@nb.njit(cache=True, parallel=True)
def softmax_rows(x, out, log):  # type: ignore[no-untyped-def]
    rows, cols = x.shape
    for r in nb.prange(rows):
        m = -math.inf
        for c in range(cols):
            v = x[r, c]
            if v > m or math.isnan(v):
                m = v
        s = 0.0
        for c in range(cols):
            e = math.exp(x[r, c] - m)
            out[r, c] = e
            s += e
        if log:
            ls = math.log(s)
            for c in range(cols):
                out[r, c] = x[r, c] - m - ls
        else:
            inv = 1.0 / s
            for c in range(cols):
                out[r, c] = out[r, c] * inv
