"""Softmax / log-softmax over rows in one fused pass per row (numba).

Formula: ``m = max(x)``, ``s = sum(exp(x - m))``; softmax ``exp(x - m) / s``,
log-softmax ``x - m - log(s)``. Rows of all -inf give NaN (0/0), as in torch.
Layout: ``x [R, C]`` and ``out [R, C]`` row-major, f32 or f64.
"""

from __future__ import annotations

import math

import numba as nb


@nb.njit(cache=True, parallel=True, fastmath=False)
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
