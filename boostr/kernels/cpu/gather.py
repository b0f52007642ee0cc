"""Row gather for index_select / embedding lookup (numba, parallel over gathered rows).

Formula: ``out[a, m, :] = x[a, idx[m] (+ N if negative), :]``.
Layout: ``x [A, N, B]`` and ``out [A, M, B]`` row-major (the tensor viewed around
the indexed dim: A = product of the dims before it, B = of the dims after it),
``idx [M]`` i32/i64 with values in ``[-N, N)`` (checked by ``first_bad_index``
first). Elements are moved as unsigned ints of the same width, so every dtype
(bf16, fp8, bool) takes the same path and bits are copied exactly.
Reference: ``torch.index_select`` / ``torch.nn.functional.embedding``.
"""

from __future__ import annotations

import numba as nb


@nb.njit(cache=True)
def first_bad_index(idx, n):  # type: ignore[no-untyped-def]
    """Position of the first index outside ``[-n, n)``, or -1 when all are valid."""
    for m in range(idx.shape[0]):
        v = idx[m]
        if v < -n or v >= n:
            return m
    return -1


def _take_rows(x, idx, out):  # type: ignore[no-untyped-def]
    a_n, n, b_n = x.shape
    m_n = idx.shape[0]
    for t in nb.prange(a_n * m_n):
        a = t // m_n
        m = t - a * m_n
        i = idx[m]
        if i < 0:
            i += n
        for b in range(b_n):
            out[a, m, b] = x[a, i, b]


take_rows = nb.njit(cache=True, parallel=True)(_take_rows)
"""Parallel over gathered rows: for large outputs."""
take_rows_serial = nb.njit(cache=True)(_take_rows)
"""One thread: small outputs (a parallel launch costs more than it saves, worst on a loaded machine)."""
