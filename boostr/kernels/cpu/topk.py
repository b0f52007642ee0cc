"""Top-k of each row by partial selection with a bounded heap (numba, parallel over rows).

Order: ``(va, ia)`` ranks before ``(vb, ib)`` when ``va`` is larger (smaller for
``largest=False``), NaN counting as larger than every number (so NaN comes first
for largest and last for smallest), and equal values (NaN with NaN) rank by the
lower index. This is exactly the order of a stable sort, truncated to k.

Algorithm per row, ``O(C + k log k)`` typical, ``O(C log k)`` worst case:
the first k elements form a heap whose root is the worst-ranked kept element;
each later element replaces the root only if it ranks strictly before it (a tie
never wins: its index is higher), then sifts down; finally the heap is sorted in
place (heap-sort), best first.
Layout: ``x [R, C]`` (any numeric dtype, bool viewed as u8), ``values [R, k]``
of x's dtype and ``indices [R, k]`` i64, ``1 <= k <= C``; the heap lives in the
output rows, so no scratch memory.
Reference: Knuth, TAOCP vol. 3, 5.2.3 (heapsort) and 5.3.3 (selection).
"""

from __future__ import annotations

import numba as nb


@nb.njit(cache=True, inline="always")
def _before(va, ia, vb, ib, largest):  # type: ignore[no-untyped-def]
    """True when ``(va, ia)`` ranks strictly before ``(vb, ib)`` (see the module doc)."""
    an = va != va
    bn = vb != vb
    if an or bn:
        if an and bn:
            return ia < ib
        return an if largest else bn
    if va == vb:
        return ia < ib
    return va > vb if largest else va < vb


@nb.njit(cache=True, inline="always")
def _sift_down(hv, hi, start, end, largest):  # type: ignore[no-untyped-def]
    """Restore the heap (worst-ranked at the root) below ``start`` within ``[0, end)``."""
    root = start
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        # pick the worse-ranked child
        if child + 1 < end and _before(hv[child], hi[child], hv[child + 1], hi[child + 1], largest):
            child += 1
        if _before(hv[child], hi[child], hv[root], hi[root], largest):
            return
        hv[root], hv[child] = hv[child], hv[root]
        hi[root], hi[child] = hi[child], hi[root]
        root = child


@nb.njit(cache=True, parallel=True)
def topk_rows(x, k, largest, values, indices):  # type: ignore[no-untyped-def]
    rows, cols = x.shape
    for r in nb.prange(rows):
        hv = values[r]
        hi = indices[r]
        for j in range(k):
            hv[j] = x[r, j]
            hi[j] = j
        for j in range(k // 2 - 1, -1, -1):
            _sift_down(hv, hi, j, k, largest)
        # scan: j is above every kept index, so only a strictly better value wins
        t = hv[0]
        tn = t != t
        for j in range(k, cols):
            v = x[r, j]
            if largest:
                win = not tn and (v > t or v != v)
            else:
                win = v == v and (tn or v < t)
            if win:
                hv[0] = v
                hi[0] = j
                _sift_down(hv, hi, 0, k, largest)
                t = hv[0]
                tn = t != t
        for end in range(k - 1, 0, -1):
            hv[0], hv[end] = hv[end], hv[0]
            hi[0], hi[end] = hi[end], hi[0]
            _sift_down(hv, hi, 0, end, largest)
