"""wgpu elementwise hooks: unary, binary, where, fma, clamp as bodies of the strided map kernel.

Op formulas live in ``kernels/wgsl/elementwise/ops_float.wgsl`` (f32; half and fp8 loads
widen to f32) and ``ops_int.wgsl`` (i32 / u32 / bool-as-u32; i8 loads sign-extend to i32 and u8 loads
widen to u32, and their stores keep the low byte, so results wrap modulo 256 like numpy).
"""

from __future__ import annotations

from typing import Any

from ...tensor import Tensor
from ._kern import ctype, scalar_word
from .memory import run_map

_GET = {"f32": "sf", "i32": "si", "u32": "su"}


class WgpuElementwise:
    def _k_unary(self, op: str, x: Tensor, out: Tensor) -> None:
        run_map(self, f"st_out(o0, op_{op}(ld_a(o1)));", out, [x], ops=x.dtype)

    def _k_binary(self, op: str, a: Tensor, b: Any, out: Tensor, swap: bool = False) -> None:
        if isinstance(b, Tensor):
            x, y, ins, sc = "ld_a(o1)", "ld_b(o2)", [a, b], []
        else:
            x, y, ins, sc = "ld_a(o1)", f"{_GET[ctype(a.dtype)]}(0u)", [a], [scalar_word(b, a.dtype)]
        if swap:
            x, y = y, x
        run_map(self, f"st_out(o0, op_{op}({x}, {y}));", out, ins, sc, ops=a.dtype)

    def _k_where(self, cond: Tensor, a: Any, b: Any, out: Tensor) -> None:
        get = _GET[ctype(out.dtype)]
        ins: list[Tensor] = [cond]
        sc: list[int] = []
        exprs = []
        for v in (a, b):  # cond is input a (o1); tensor operands follow as b (o2), c (o3)
            if isinstance(v, Tensor):
                ins.append(v)
                exprs.append(f"ld_{'abc'[len(ins) - 1]}(o{len(ins)})")
            else:
                exprs.append(f"{get}({len(sc)}u)")
                sc.append(scalar_word(v, out.dtype))
        body = f"st_out(o0, select({exprs[1]}, {exprs[0]}, ld_a(o1) != 0u));"
        run_map(self, body, out, ins, sc)

    def _k_fma(self, a: Tensor, b: Tensor, c: Tensor, out: Tensor) -> None:
        run_map(self, "st_out(o0, fma(ld_a(o1), ld_b(o2), ld_c(o3)));", out, [a, b, c])

    def _k_clamp(self, x: Tensor, lo: Any, hi: Any, out: Tensor) -> None:
        c = ctype(x.dtype)
        get = _GET[c]
        sc: list[int] = []
        lines = ["var v = ld_a(o1);"]
        nan_keep = "isnan_f(v) || " if c == "f32" else ""
        if lo is not None:
            lines.append(f"if (!({nan_keep}v >= {get}({len(sc)}u))) {{ v = {get}({len(sc)}u); }}")
            sc.append(scalar_word(lo, x.dtype))
        if hi is not None:
            lines.append(f"if (!({nan_keep}v <= {get}({len(sc)}u))) {{ v = {get}({len(sc)}u); }}")
            sc.append(scalar_word(hi, x.dtype))
        lines.append("st_out(o0, v);")
        run_map(self, "\n    ".join(lines), out, [x], sc)
