"""wgpu matmul: a register-blocked 64x64-tile kernel (``matmul.wgsl``) and a matrix-vector path
(``gemv.wgsl``) for M == 1 or N == 1; f32 accumulation for every float dtype.

Operands larger than a storage binding are handled by splitting the (batch, M, N) ranges
until each operand's touched elements fit one binding window.
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor
from ._kern import decl, fits, kernel, launch, sbytes, window

TILE = 64


def _span(t: Tensor, b: tuple[int, int], r: tuple[int, int], c: tuple[int, int]) -> tuple[int, int]:
    """Elements of a 3-D view touched by index ranges ``b`` x ``r`` x ``c`` (half-open)."""
    sb, sr, sc = t.strides
    lo = t.offset + b[0] * sb + r[0] * sr + c[0] * sc
    hi = t.offset + (b[1] - 1) * sb + (r[1] - 1) * sr + (c[1] - 1) * sc
    return lo, hi + 1


class WgpuMatmul:
    def _k_matmul(self, a: Tensor, b: Tensor, out: Tensor) -> None:
        nb, m, k = a.shape
        n = b.shape[2]
        if m == 1 or n == 1:
            self._gemv(a, b, out)
            return
        decls = "\n".join([decl("a", 0, a.dtype), decl("b", 1, b.dtype), decl("out", 2, out.dtype, "w")])
        kern = kernel(self, "wgsl/matmul/matmul.wgsl", "main", "rrw", decls)

        def spans(bt: tuple[int, int], mr: tuple[int, int], nr: tuple[int, int]) -> list[Any]:
            return [(a, _span(a, bt, mr, (0, k))), (b, _span(b, bt, (0, k), nr)), (out, _span(out, bt, mr, nr))]

        def run(bt: tuple[int, int], mr: tuple[int, int], nr: tuple[int, int]) -> None:
            sp = spans(bt, mr, nr)
            if not all(fits(self, t.storage, t.dtype, lo, hi) for t, (lo, hi) in sp):
                if bt[1] - bt[0] > 1:
                    h = (bt[0] + bt[1]) // 2
                    run((bt[0], h), mr, nr), run((h, bt[1]), mr, nr)
                    return
                a_ok = fits(self, a.storage, a.dtype, *sp[0][1]) and fits(self, out.storage, out.dtype, *sp[2][1])
                if (not a_ok or nr[1] - nr[0] <= TILE) and mr[1] - mr[0] > TILE:
                    h = mr[0] + ((mr[1] - mr[0]) // 2 + TILE - 1) // TILE * TILE
                    run(bt, (mr[0], h), nr), run(bt, (h, mr[1]), nr)
                    return
                if nr[1] - nr[0] > TILE:
                    h = nr[0] + ((nr[1] - nr[0]) // 2 + TILE - 1) // TILE * TILE
                    run(bt, mr, (nr[0], h)), run(bt, mr, (h, nr[1]))
                    return
            binds = [window(self, t.storage, t.dtype, lo, hi) for t, (lo, hi) in sp]
            words = [m, n, k, a.offset - binds[0][1], a.strides[1], a.strides[2], a.strides[0],
                     b.offset - binds[1][1], b.strides[1], b.strides[2], b.strides[0], out.offset - binds[2][1],
                     bt[0], mr[0], nr[0], mr[1], nr[1]]  # fmt: skip
            groups = (-(-(nr[1] - nr[0]) // TILE), -(-(mr[1] - mr[0]) // TILE), bt[1] - bt[0])
            launch(self, kern, [bb for bb, _ in binds], words, groups)

        run((0, nb), (0, m), (0, n))

    def _gemv(self, a: Tensor, b: Tensor, out: Tensor) -> None:
        nb, m, k = a.shape
        n = b.shape[2]
        if m == 1:  # y[n] = sum_k a[0, k] * b[k, n]
            u, (su, sub), w, (swj, swk, swb), jn = (
                a,
                (a.strides[2], a.strides[0]),
                b,
                (b.strides[2], b.strides[1], b.strides[0]),
                n,
            )
        else:  # y[m] = sum_k a[m, k] * b[k, 0]
            u, (su, sub), w, (swj, swk, swb), jn = (
                b,
                (b.strides[1], b.strides[0]),
                a,
                (a.strides[1], a.strides[2], a.strides[0]),
                m,
            )
        kr = [(0, k)]
        if not fits(self, w.storage, w.dtype, w.offset, w.offset + w.numel if w.is_contiguous() else 0):
            kr = _k_ranges(self, w, swj, swk, k)
        if len(kr) > 1 and out.dtype is not _dt.f32:  # partial sums accumulate in f32
            tmp = self._new(out.shape, _dt.f32)
            self._gemv(a, b, tmp)
            self._k_copy(tmp, out)
            return
        entry = "dot" if swk == 1 or jn == 1 else "col"
        decls = "\n".join([decl("u", 0, u.dtype), decl("w", 1, w.dtype), decl("out", 2, out.dtype, "w")])
        kern = kernel(self, "wgsl/matmul/gemv.wgsl", entry, "rrw", decls)
        for bt in range(nb):
            for k0, k1 in kr:
                ulo = u.offset + bt * sub + k0 * su
                uspan = (ulo, ulo + (k1 - k0 - 1) * su + 1)
                j0 = 0
                while j0 < jn:
                    j1 = jn
                    while True:
                        lo = w.offset + bt * swb + j0 * swj + k0 * swk
                        wspan = (lo, lo + (j1 - 1 - j0) * swj + (k1 - 1 - k0) * swk + 1)
                        if j1 - j0 <= 1 or fits(self, w.storage, w.dtype, *wspan):
                            break
                        j1 = j0 + (j1 - j0) // 2
                    ospan = (out.offset + bt * jn + j0, out.offset + bt * jn + j1)
                    (bu, ub), (bw, wb), (bo, ob) = (window(self, t.storage, t.dtype, *sp)
                                                    for t, sp in ((u, uspan), (w, wspan), (out, ospan)))  # fmt: skip
                    words = [jn, k, u.offset - ub, su, sub, w.offset - wb, swj, swk, swb, out.offset - ob, j0, j1, bt,
                             k0, k1, int(k0 > 0)]  # fmt: skip
                    groups = j1 - j0 if entry == "dot" else -(-(j1 - j0) // 256)
                    launch(self, kern, [bu, bw, bo], words, groups)
                    j0 = j1


def _k_ranges(client: Any, w: Tensor, swj: int, swk: int, k: int) -> list[tuple[int, int]]:
    """Split K so one output's W span (``(k1 - k0 - 1) * swk + 1`` elements, plus a j-row) fits a binding."""
    per = max(1, (client.max_binding - client.align) // sbytes(w.dtype) // max(1, swk) - max(1, swj))
    return [(k0, min(k, k0 + per)) for k0 in range(0, k, per)]
