"""wgpu row reductions, softmax and cumsum (rows of a contiguous ``[R, C]`` input).

Reductions run one or two passes of ``kernels/wgsl/reduce/reduce.wgsl``: long rows are cut
into up to 1024 segments of >= 4096 elements (a workgroup each) whose partials a second
pass combines, so a single 256M-element row still spreads over the whole device.
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...dtype import DType
from ...kernels.sources import read_source
from ...tensor import Tensor
from ..traits._base import TraitBase
from ._kern import (
    aligned4,
    ctype,
    decl,
    decl_v,
    kernel,
    launch,
    meta,
    nan_test,
    planned,
    range_chunks,
    sg_tmpl,
    static_buffer,
    window,
)
from .memory import convert

_OPID = {"sum": 0, "prod": 1, "max": 2, "min": 3, "argmax": 4, "argmin": 5, "any": 6, "all": 7}
_LOWEST = {"f32": "-bitcast<f32>(0x7f800000u)", "i32": "i32(-2147483648)", "u32": "0u"}
_HIGHEST = {"f32": "bitcast<f32>(0x7f800000u)", "i32": "2147483647i", "u32": "0xffffffffu"}
_SEG_MIN = 4096
_SEG_MAX = 1024


def _ident(op: str, c: str) -> str:
    if op in ("sum", "any"):
        return f"{c}(0)"
    if op in ("prod", "all"):
        return f"{c}(1)"
    return _HIGHEST[c] if op in ("min", "argmin") else _LOWEST[c]


def _dummy(client: Any, slot: int) -> Tensor:
    """A small u32 tensor bound where a kernel's optional buffer is unused (one per binding slot)."""
    dummies = client.__dict__.setdefault("_dummies", {})
    if slot not in dummies:
        dummies[slot] = client._new((4,), _dt.u32)
        static_buffer(client, dummies[slot].storage)
    return dummies[slot]


def _reduce_pass(client: Any, op: str, x: Tensor, xi: Tensor | None, rows: int, cols: int, segs: int,
                 out: Tensor, outi: Tensor | None) -> None:  # fmt: skip
    """One pass: workgroup g reduces segment g % segs of row g // segs into out[g] (and outi[g])."""
    c = ctype(x.dtype)
    arg = op in ("argmax", "argmin")
    seg_len = -(-cols // segs)
    vec = not arg and xi is None and cols % 4 == 0 and aligned4(x, cols if rows > 1 else 0, ints=True)
    if vec:
        seg_len = -(-seg_len // 4) * 4
    xi_t = xi if xi is not None else _dummy(client, 0)
    oi_t = outi if outi is not None else _dummy(client, 1)
    if outi is not None:
        store = "st_out(P[6] + g, acc);\n        st_oi(P[10] + g, ai);"
    elif arg:
        store = "st_out(P[6] + g, i32(ai));"
    else:
        store = f"st_out(P[6] + g, {convert('acc', x.dtype, out.dtype)});"
    decls = "\n".join([decl_v("x", 0, x.dtype, c, vec), decl("xi", 1, xi_t.dtype), decl("out", 2, out.dtype, "w"),
                       decl("oi", 3, oi_t.dtype, "w")])  # fmt: skip
    sg = sg_tmpl(client)
    wgred = read_source("wgsl/reduce/wgred_sg.wgsl" if sg["SGB"] else "wgsl/reduce/wgred_tree.wgsl")
    if not sg["SGB"]:
        sg["WGSUM"] = ""  # the tree needs none of the helpers (and not their workgroup array)
    k = kernel(client, "wgsl/reduce/reduce.wgsl", "main", "rrww", decls, OPID=_OPID[op], ARG=str(arg).lower(),
               C=c, IDENT=_ident(op, c), STORE=store, NANTEST=nan_test(x.dtype), VEC=str(vec).lower(), WGRED=wgred,
               **sg)  # fmt: skip

    def spans(g0: int, g1: int) -> list[tuple[Any, DType, int, int]]:
        lo = x.offset + (g0 // segs) * cols + (g0 % segs) * seg_len
        hi = x.offset + ((g1 - 1) // segs) * cols + min(cols, ((g1 - 1) % segs + 1) * seg_len)
        sp = [(x.storage, x.dtype, lo, hi), (out.storage, out.dtype, out.offset + g0, out.offset + g1)]
        if xi is not None:
            sp.append((xi.storage, xi.dtype, xi.offset + lo - x.offset, xi.offset + hi - x.offset))
        return sp

    for g0, g1 in range_chunks(client, rows * segs, spans):
        sp = spans(g0, g1)
        (bx, basex), (bo, baseo) = window(client, *sp[0]), window(client, *sp[1])
        bxi, basexi = window(client, *sp[2]) if xi is not None else window(client, xi_t.storage, xi_t.dtype, 0, 1)
        boi, baseoi = window(client, oi_t.storage, oi_t.dtype, oi_t.offset + g0, oi_t.offset + g1)
        words = [g0, cols, cols, x.offset - basex, segs, seg_len, out.offset - baseo, int(xi is not None),
                 (xi.offset if xi is not None else 0) - basexi, g1 - g0, oi_t.offset - baseoi]  # fmt: skip
        launch(client, k, [bx, bxi, bo, boi], words, g1 - g0)


class WgpuReduce(TraitBase):
    def _k_reduce(self, op: str, x: Tensor, out: Tensor) -> None:
        rows, cols = x.shape
        segs = 1
        if cols > 2 * _SEG_MIN and rows < 1024:
            segs = min(_SEG_MAX, cols // _SEG_MIN)
        key = ("reduce", op, meta(x), meta(out))
        if segs == 1:
            planned(self, key, (x, out), lambda: _reduce_pass(self, op, x, None, rows, cols, 1, out, None))
            return
        arg = op in ("argmax", "argmin")
        pdt = {"f32": _dt.f32, "i32": _dt.i32, "u32": _dt.u32}[ctype(x.dtype)]
        part = self._new((rows, segs), pdt)
        parti = self._new((rows, segs), _dt.u32) if arg else None

        def build() -> None:
            _reduce_pass(self, op, x, None, rows, cols, segs, part, parti)
            _reduce_pass(self, op, part, parti, rows, segs, 1, out, None)

        planned(self, key, (x, out, part) if parti is None else (x, out, part, parti), build)

    def _rows(self, relpath: str, x: Tensor, out: Tensor, extra: list[int], tmpl: dict[str, Any],
              vec: bool = False) -> None:  # fmt: skip
        """One workgroup per row of ``relpath``; ``vec``: the kernel takes ``VEC`` and the sg templates."""
        key = (relpath, tuple(extra), meta(x), meta(out))
        planned(self, key, (x, out), lambda: self._wg_rows(relpath, x, out, extra, tmpl, vec))

    def _wg_rows(self, relpath: str, x: Tensor, out: Tensor, extra: list[int], tmpl: dict[str, Any],
                 vec: bool) -> None:  # fmt: skip
        rows, cols = x.shape
        if vec:
            v4 = cols % 4 == 0 and aligned4(x) and aligned4(out)
            decls = decl_v("x", 0, x.dtype, "f32", v4) + "\n" + decl_v("out", 1, out.dtype, "f32", v4, "w")
            tmpl = dict(tmpl, VEC=str(v4).lower(), **sg_tmpl(self))
        else:
            decls = decl("x", 0, x.dtype) + "\n" + decl("out", 1, out.dtype, "w")
        k = kernel(self, relpath, "main", "rw", decls, **tmpl)

        def spans(r0: int, r1: int) -> list[tuple[Any, DType, int, int]]:
            return [(x.storage, x.dtype, x.offset + r0 * cols, x.offset + r1 * cols),
                    (out.storage, out.dtype, out.offset + r0 * cols, out.offset + r1 * cols)]  # fmt: skip

        for r0, r1 in range_chunks(self, rows, spans):
            (bx, bxs), (bo, bos) = (window(self, *s) for s in spans(r0, r1))
            launch(self, k, [bx, bo], [r0, cols, x.offset - bxs, out.offset - bos, *extra, r1 - r0], r1 - r0)

    def _k_softmax(self, x: Tensor, out: Tensor, log: bool) -> None:
        self._rows("wgsl/reduce/softmax.wgsl", x, out, [int(log)], {}, vec=True)

    def _k_cumsum(self, x: Tensor, out: Tensor) -> None:
        c = ctype(out.dtype)
        self._rows(
            "wgsl/reduce/cumsum.wgsl",
            x,
            out,
            [],
            {"C": c, "CVT": convert("ld_x(P[2] + r * C + c)", x.dtype, out.dtype)},
        )
