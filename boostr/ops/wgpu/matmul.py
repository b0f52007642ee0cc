"""wgpu matmul: a register-blocked tiled kernel (``matmul.wgsl``: 128x128 or 64x128 output tiles, 8x8 or
4x8 per invocation, vec4 global loads where layouts allow, f16 kept as f16 in workgroup memory) and
matrix-vector kernels (``gemv.wgsl``) for M == 1 or N == 1 (vec4 loads, subgroup reduction where the
adapter offers it); f32 accumulation for every float dtype.

Operands larger than a storage binding are handled by splitting the (batch, M, N) ranges
until each operand's touched elements fit one binding window.
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor
from ..traits._base import TraitBase
from ._kern import (
    aligned4,
    decl,
    decl_v,
    fits,
    grid,
    kernel,
    launch,
    meta,
    planned,
    sbytes,
    sg_tmpl,
    static_buffer,
    window,
)
from .reduce import _dummy

TILE_N = 128
SPLIT_BELOW = 256
"""col_v4 GEMVs that would run on fewer workgroups than this also split K over workgroups."""


def _scratch(client: Any, n: int) -> Any:
    """A per-client f32 scratch buffer of at least ``n`` elements, bindable by launch plans (grows, never
    shrinks; an outgrown one stays registered, so plans that bind it remain valid)."""
    st = client.__dict__.get("_gemv_scratch")
    if st is None or st.nbytes < 4 * n:
        st = client.pool.allocate(4 * max(n, 1 << 16))
        client._gemv_scratch = st
        client.__dict__.setdefault("_scratch_keep", []).append(st)
        static_buffer(client, st)
    return st.buffer


def _span(t: Tensor, b: tuple[int, int], r: tuple[int, int], c: tuple[int, int]) -> tuple[int, int]:
    """Elements of a 3-D view touched by index ranges ``b`` x ``r`` x ``c`` (half-open)."""
    sb, sr, sc = t.strides
    lo = t.offset + b[0] * sb + r[0] * sr + c[0] * sc
    hi = t.offset + (b[1] - 1) * sb + (r[1] - 1) * sr + (c[1] - 1) * sc
    return lo, hi + 1


def _loader(t: Tensor, rows: int, cols: int, nb: int) -> int:
    """0: vec4 along the last dim (unit stride), 1: vec4 along the middle dim, 2: scalar loads."""
    sb, sr, sc = t.strides
    sb = sb if nb > 1 else 0
    if sc == 1 and cols % 4 == 0 and aligned4(t, sb, sr if rows > 1 else 0):
        return 0
    if sr == 1 and rows % 4 == 0 and aligned4(t, sb, sc if cols > 1 else 0):
        return 1
    return 2


class WgpuMatmul(TraitBase):
    def _k_matmul(self, a: Tensor, b: Tensor, out: Tensor) -> None:
        planned(self, ("matmul", meta(a), meta(b), meta(out)), (a, b, out), lambda: self._wg_matmul(a, b, out))

    def _wg_matmul(self, a: Tensor, b: Tensor, out: Tensor) -> None:
        nb, m, k = a.shape
        n = b.shape[2]
        if m == 1 or n == 1:
            self._wg_gemv(a, b, out)
            return
        la, lb = _loader(a, m, k, nb), _loader(b, k, n, nb)
        out4 = n % 4 == 0 and out.dtype in (_dt.f32, _dt.f16) and out.offset % 4 == 0
        st = "f16" if a.dtype is _dt.f16 and b.dtype is _dt.f16 and self.has_f16 else "f32"
        wm = 2 if m > 64 else 1
        tile_m = 64 * wm
        decls = "\n".join([decl_v("a", 0, a.dtype, st, la < 2), decl_v("b", 1, b.dtype, st, lb < 2),
                           decl_v("c", 2, out.dtype, "f32", out4, "w")])  # fmt: skip
        kern = kernel(self, "wgsl/matmul/matmul.wgsl", "main", "rrw", decls, LA=la, LB=lb, WM=wm,
                      OUT4=str(out4).lower(), ST=st)  # fmt: skip

        def spans(bt: tuple[int, int], mr: tuple[int, int], nr: tuple[int, int]) -> list[Any]:
            return [(a, _span(a, bt, mr, (0, k))), (b, _span(b, bt, (0, k), nr)), (out, _span(out, bt, mr, nr))]

        def run(bt: tuple[int, int], mr: tuple[int, int], nr: tuple[int, int]) -> None:
            sp = spans(bt, mr, nr)
            if not all(fits(self, t.storage, t.dtype, lo, hi) for t, (lo, hi) in sp):
                if bt[1] - bt[0] > 1:
                    h = (bt[0] + bt[1]) // 2
                    run((bt[0], h), mr, nr)
                    run((h, bt[1]), mr, nr)
                    return
                a_ok = fits(self, a.storage, a.dtype, *sp[0][1]) and fits(self, out.storage, out.dtype, *sp[2][1])
                if (not a_ok or nr[1] - nr[0] <= TILE_N) and mr[1] - mr[0] > tile_m:
                    h = mr[0] + ((mr[1] - mr[0]) // 2 + tile_m - 1) // tile_m * tile_m
                    run(bt, (mr[0], h), nr)
                    run(bt, (h, mr[1]), nr)
                    return
                if nr[1] - nr[0] > TILE_N:
                    h = nr[0] + ((nr[1] - nr[0]) // 2 + TILE_N - 1) // TILE_N * TILE_N
                    run(bt, mr, (nr[0], h))
                    run(bt, mr, (h, nr[1]))
                    return
            binds = [window(self, t.storage, t.dtype, lo, hi) for t, (lo, hi) in sp]
            words = [m, n, k, a.offset - binds[0][1], a.strides[1], a.strides[2], a.strides[0],
                     b.offset - binds[1][1], b.strides[1], b.strides[2], b.strides[0], out.offset - binds[2][1],
                     bt[0], mr[0], nr[0], mr[1], nr[1]]  # fmt: skip
            groups = (-(-(nr[1] - nr[0]) // TILE_N), -(-(mr[1] - mr[0]) // tile_m), bt[1] - bt[0])
            launch(self, kern, [bb for bb, _ in binds], words, groups)

        run((0, nb), (0, m), (0, n))

    def _wg_gemv(self, a: Tensor, b: Tensor, out: Tensor) -> None:
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
            self._wg_gemv(a, b, tmp)
            self._k_copy(tmp, out)
            return
        ub_, wb_ = (sub, swb) if nb > 1 else (0, 0)  # batch strides that matter
        if swk == 1 or jn == 1:
            vec = (su == 1 and k % 4 == 0 and all(k0 % 4 == 0 for k0, _ in kr) and aligned4(u, ub_)
                   and swk == 1 and aligned4(w, swj if jn > 1 else 0, wb_))  # fmt: skip
            entry, per = ("dot_v4", 4) if vec else ("dot_s", 1)
        else:
            vec = swj == 1 and aligned4(w, swk, wb_)
            entry, per = ("col_v4", 256) if vec else ("col_s", 256)
        decls = "\n".join([decl_v("u", 0, u.dtype, "f32", entry == "dot_v4"), decl_v("w", 1, w.dtype, "f32", vec),
                           decl("out", 2, out.dtype, "w")])  # fmt: skip
        kern = kernel(self, "wgsl/matmul/gemv.wgsl", entry, "rrww", decls, **sg_tmpl(self))
        whole = len(kr) == 1 and not any(t.storage.big for t in (u, w, out))
        if entry == "col_v4" and -(-jn // 256) > 65535:
            entry = "col_s"
            kern = kernel(self, "wgsl/matmul/gemv.wgsl", entry, "rrww", decls, **sg_tmpl(self))
        jb = -(-jn // 256)
        if entry == "col_v4" and whole and jb * nb < SPLIT_BELOW and k >= 256:
            self._wg_col_split(kern, decls, u, w, out, (su, sub, swj, swk, swb), jn, k)
            return
        pad = _dummy(self, 2).storage.buffer
        bp = (pad, 0, pad.size)
        for bt in range(1 if whole else nb):
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
                             k0, k1, int(k0 > 0), k1 - k0, 0, 1]  # fmt: skip
                    x, y, _ = grid(-(-(j1 - j0) // per)) if entry != "col_v4" else (-(-(j1 - j0) // per), 1, 1)
                    launch(self, kern, [bu, bw, bo, bp], words, (x, y, nb if whole else 1))
                    j0 = j1

    def _wg_col_split(self, kern: Any, decls: str, u: Tensor, w: Tensor, out: Tensor, strides: tuple[int, ...],
                      jn: int, k: int) -> None:  # fmt: skip
        """``col_v4`` with K split over workgroup rows into a scratch buffer, then ``col_sum``."""
        su, sub, swj, swk, swb = strides
        nb, jb = out.shape[0], -(-jn // 256)
        chunks = min(-(-SPLIT_BELOW // (jb * nb)), k // 64)
        chunk = -(-k // chunks)
        chunks = -(-k // chunk)
        part = _scratch(self, nb * chunks * jn)
        bufs = [(t.storage.buffer, 0, t.storage.buffer.size) for t in (u, w, out)] + [(part, 0, part.size)]
        words = [jn, k, u.offset, su, sub, w.offset, swj, swk, swb, out.offset, 0, jn, 0, 0, k, 0, chunk, 1, chunks]
        launch(self, kern, bufs, words, (jb, chunks, nb))
        total = kernel(self, "wgsl/matmul/gemv.wgsl", "col_sum", "rrww", decls, **sg_tmpl(self))
        launch(self, total, bufs, words, (jb, 1, nb))


def _k_ranges(client: Any, w: Tensor, swj: int, swk: int, k: int) -> list[tuple[int, int]]:
    """Split K so one output's W span (``(k1 - k0 - 1) * swk + 1`` elements, plus a j-row) fits a binding
    (pieces are multiples of 4 long, so the vec4 kernels keep their alignment)."""
    per = max(1, (client.max_binding - client.align) // sbytes(w.dtype) // max(1, swk) - max(1, swj))
    per = max(4, per // 4 * 4)
    return [(k0, min(k, k0 + per)) for k0 in range(0, k, per)]
