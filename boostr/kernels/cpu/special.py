"""Special functions for the CPU kernels (numba): erf via math.erf, elementwise."""

from __future__ import annotations

import math

import numba as nb
import numpy as np


@nb.njit(cache=True, parallel=True)
def _erf_flat(x, out):  # type: ignore[no-untyped-def]
    for i in nb.prange(x.shape[0]):
        out[i] = math.erf(x[i])


def erf_array(x: np.ndarray) -> np.ndarray:
    """``erf`` of a float array (any shape), in its dtype."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    if flat.size:
        _erf_flat(flat, out)
    return out.reshape(x.shape)
