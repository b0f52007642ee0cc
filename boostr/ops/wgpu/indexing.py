"""wgpu gather / scatter / index_select (``kernels/wgsl/indexing/indexing.wgsl``).

GPU policy (``boostr.runtime.hooks``): index values are not checked (that would need a host
round trip); negative values count from the end and the result is clamped into range, so
no access leaves a buffer. A source tensor larger than one storage binding is read through
successive windows: each dispatch writes only the outputs whose source lies in its window.
Half and packed float destinations of scatter go through an f32 copy (atomics need 32-bit words);
i8 / u8 destinations of an accumulating scatter go through an i32 / u32 copy (the sum wraps
modulo 256 when copied back, as numpy's ``np.add.at`` does); plain i8 / u8 scatters store bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor, contiguous_strides
from ..traits._base import TraitBase
from ._kern import WG, ctype, decl, flat_bounds, flat_chunks, kernel, launch, meta, planned, sbytes, window

_ALL = 0xFFFFFFFF


def _x_windows(client: Any, x: Tensor) -> Iterator[tuple[tuple[Any, int, int], int, int, int]]:
    """Bindings covering x's elements: ``(binding, base element, lo, hi)`` per window."""
    if x.storage.buffer.size <= client.max_binding:
        yield (x.storage.buffer, 0, x.storage.buffer.size), 0, 0, _ALL
        return
    per = (client.max_binding - client.align) // sbytes(x.dtype)
    lo = x.offset
    while lo < x.offset + x.numel:
        hi = min(x.offset + x.numel, lo + per)
        binding, base = window(client, x.storage, x.dtype, lo, hi)
        yield binding, base, lo, hi
        lo = hi


def _pad8(v: list[int], fill: int) -> list[int]:
    return v + [fill] * (8 - len(v))


def _run_src(client: Any, entry: str, x: Tensor, index: Tensor, out: Tensor, words: list[int]) -> None:
    decls = "\n".join([decl("x", 0, x.dtype), decl("idx", 1, index.dtype), decl("out", 2, out.dtype, "w")])
    k = kernel(client, "wgsl/indexing/indexing.wgsl", entry, "rrw", decls)
    n = out.numel
    meta = [(out.storage, out.dtype, (n,), (1,), out.offset)]
    if entry == "gather":
        meta.append((index.storage, index.dtype, (n,), (1,), index.offset))
    for s, e in flat_chunks(client, n, meta, (n,)):
        bo, ob = window(client, out.storage, out.dtype, *flat_bounds((n,), (1,), out.offset, s, e))
        if entry == "gather":
            bi, ib = window(client, index.storage, index.dtype, *flat_bounds((n,), (1,), index.offset, s, e))
        else:
            bi, ib = window(client, index.storage, index.dtype, index.offset, index.offset + index.numel)
        for bx, xb, lo, hi in _x_windows(client, x):
            w = list(words)
            w[0:2] = [e - s, s]
            w[22], w[23], w[24], w[25], w[26] = index.offset - ib, out.offset - ob, lo, hi, xb
            launch(client, k, [bx, bi, bo], w, -(-(e - s) // WG))


class WgpuIndexing(TraitBase):
    def _k_index_select(self, x: Tensor, dim: int, index: Tensor, out: Tensor) -> None:
        key = ("index_select", dim, meta(x), meta(index), meta(out))
        planned(self, key, (x, index, out), lambda: self._wg_index_select(x, dim, index, out))

    def _wg_index_select(self, x: Tensor, dim: int, index: Tensor, out: Tensor) -> None:
        inner = math.prod(x.shape[dim + 1 :])
        words = [0] * 29
        words[20], words[21], words[27], words[28] = x.shape[dim], x.offset, inner, index.numel
        _run_src(self, "index_select", x, index, out, words)

    def _k_gather(self, x: Tensor, dim: int, index: Tensor, out: Tensor) -> None:
        key = ("gather", dim, meta(x), meta(index), meta(out))
        planned(self, key, (x, index, out), lambda: self._wg_gather(x, dim, index, out))

    def _wg_gather(self, x: Tensor, dim: int, index: Tensor, out: Tensor) -> None:
        words = [0, 0, index.ndim, *_pad8(list(index.shape), 1), *_pad8(list(contiguous_strides(x.shape)), 0)]
        words += [dim, x.shape[dim], x.offset] + [0] * 7
        _run_src(self, "gather", x, index, out, words)

    def _k_scatter(self, out: Tensor, dim: int, index: Tensor, src: Tensor, accumulate: bool) -> None:
        key = ("scatter", dim, accumulate, meta(out), meta(index), meta(src))
        planned(self, key, (out, index, src), lambda: self._wg_scatter(out, dim, index, src, accumulate))

    def _wg_scatter(self, out: Tensor, dim: int, index: Tensor, src: Tensor, accumulate: bool) -> None:
        if out.dtype in (_dt.f16, _dt.bf16, _dt.fp8_e4m3, _dt.fp8_e5m2) and (accumulate or out.dtype is not _dt.f16):
            tmp = self.cast(out, _dt.f32)
            self._wg_scatter(tmp, dim, index, self.cast(src, _dt.f32), accumulate)
            self._k_copy(tmp, out)
            return
        if accumulate and out.dtype in (_dt.i8, _dt.u8):
            wide = _dt.i32 if out.dtype is _dt.i8 else _dt.u32
            tmp = self.cast(out, wide)
            self._wg_scatter(tmp, dim, index, self.cast(src, wide), accumulate)
            self._k_copy(tmp, out)
            return
        c = ctype(out.dtype)
        if accumulate:
            dec = "@group(1) @binding(2) var<storage, read_write> out: array<atomic<u32>>;"
            if c == "f32":
                add = "bitcast<u32>(bitcast<f32>(old) + ld_src(P[23] + e))"
                store = (
                    "var old = atomicLoad(&out[dst]);\n    loop {\n"
                    f"        let r = atomicCompareExchangeWeak(&out[dst], old, {add});\n"
                    "        if (r.exchanged) { break; }\n        old = r.old_value;\n    }"
                )
            else:
                store = "atomicAdd(&out[dst], bitcast<u32>(ld_src(P[23] + e)));"
        else:
            dec = decl("out", 2, out.dtype, "w")
            store = "st_out(dst, ld_src(P[23] + e));"
        decls = "\n".join([decl("src", 0, src.dtype), decl("idx", 1, index.dtype), dec])
        k = kernel(self, "wgsl/indexing/scatter.wgsl", "main", "rrw", decls, SCATTER_STORE=store)
        n = index.numel
        words = [n, 0, index.ndim, *_pad8(list(index.shape), 1), *_pad8(list(contiguous_strides(out.shape)), 0)]
        bs, sb = window(self, src.storage, src.dtype, src.offset, src.offset + src.numel)
        bi, ib = window(self, index.storage, index.dtype, index.offset, index.offset + n)
        bo, ob = window(self, out.storage, out.dtype, out.offset, out.offset + out.numel)
        words += [dim, out.shape[dim], out.offset - ob, index.offset - ib, src.offset - sb]
        launch(self, k, [bs, bi, bo], words, -(-n // WG))
