"""wgpu arange and Philox random (``kernels/wgsl/creation/creation.wgsl``).

Random numbers use the counter layout of ``boostr.runtime.hooks`` (_k_random): the raw
Philox words equal the CPU's bit for bit; uniform/normal are then formed in f32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import dtype as _dt
from ...tensor import Tensor
from ._kern import WG, ctype, decl, f32_word, flat_chunks, kernel, launch, meta, planned, window
from .memory import convert


def _split(v: float) -> tuple[int, int]:
    hi = np.float32(v)
    lo = np.float32(v - float(hi))
    return f32_word(float(hi)), f32_word(float(lo))


def _run(client: Any, entry: str, out: Tensor, tmpl: dict[str, str], words: list[int]) -> None:
    k = kernel(client, "wgsl/creation/creation.wgsl", entry, "w", decl("out", 0, out.dtype, "w"),
               ARANGE=tmpl.get("ARANGE", ""), STORE=tmpl.get("STORE", ""))  # fmt: skip
    n = out.numel
    for s, e in flat_chunks(client, n, [(out.storage, out.dtype, (n,), (1,), out.offset)], (n,)):
        b, base = window(client, out.storage, out.dtype, out.offset + s, out.offset + e)
        w = [e - s, s, out.offset - base, *words]
        launch(client, k, [b], w, -(-(e - s) // WG))


class WgpuCreation:
    def _k_arange(self, out: Tensor, start: bool | int | float, step: bool | int | float) -> None:
        key = ("arange", type(start), repr(start), type(step), repr(step), meta(out))  # repr: -0.0 != 0.0
        planned(self, key, (out,), lambda: self._wg_arange(out, start, step))

    def _wg_arange(self, out: Tensor, start: bool | int | float, step: bool | int | float) -> None:
        if out.dtype.is_int and isinstance(start, int) and isinstance(step, int):
            c = ctype(out.dtype)
            body = f"st_out(P[2] + i, {c}(bitcast<i32>(P[3]) + i32(i) * bitcast<i32>(P[5])));"
            words = [start & 0xFFFFFFFF, 0, step & 0xFFFFFFFF, 0]
        else:
            expr = ("bitcast<f32>(P[3]) + (f32(i) * bitcast<f32>(P[5]) + (f32(i) * bitcast<f32>(P[6]) + "
                    "bitcast<f32>(P[4])))")  # fmt: skip
            body = f"st_out(P[2] + i, {convert(expr, _dt.f32, out.dtype)});"
            words = [*_split(float(start)), *_split(float(step))]
        _run(self, "arange", out, {"ARANGE": body}, words)

    def _k_random(self, out: Tensor, dist: str, seed: int, offset: int, a: float, b: float) -> None:
        d = {"uniform": 0, "normal": 1, "randint": 2}[dist]
        if d == 2:
            span = int(b) - int(a)
            words = [seed & 0xFFFFFFFF, seed >> 32, offset & 0xFFFFFFFF, (offset >> 32) & 0xFFFFFFFF, 2,
                     int(a) & 0xFFFFFFFF, 0, span & 0xFFFFFFFF, int(span >= 2**32)]  # fmt: skip
            store = (
                f"st_out(P[2] + i, {ctype(out.dtype)}(iv));"
                if ctype(out.dtype) == "u32"
                else f"st_out(P[2] + i, {convert('bitcast<i32>(iv)', _dt.i32, out.dtype)});"
            )
        else:
            words = [seed & 0xFFFFFFFF, seed >> 32, offset & 0xFFFFFFFF, (offset >> 32) & 0xFFFFFFFF, d,
                     f32_word(a), f32_word(b), 0, 0]  # fmt: skip
            store = "st_out(P[2] + i, v);"
        _run(self, "random", out, {"STORE": store}, words)
