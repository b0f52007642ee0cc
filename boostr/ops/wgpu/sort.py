"""wgpu sort / topk: a stable bitonic network over (key, index) pairs (``sort/bitonic.wgsl``).

Each row is padded to a power of two in device scratch buffers. Stages whose pairs lie inside
blocks of ``LOCAL`` elements run in workgroup memory, many per dispatch (``local``); only the
stages with a pair distance of at least ``LOCAL`` go over the whole buffer, one dispatch each
(``step``). All of it is recorded into one batch.
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor
from ._kern import WG, ctype, decl, kernel, launch, meta, nan_test, planned, window
from .reduce import _dummy

LOCAL = 1024


def _bitonic(client: Any, x: Tensor, kcols: int, descending: bool, values: Tensor, indices: Tensor) -> None:
    rows, cols = x.shape
    p2 = 1 << max(0, (cols - 1).bit_length())
    c = ctype(x.dtype)
    keys = client._new((rows, p2), {"f32": _dt.f32, "i32": _dt.i32, "u32": _dt.u32}[c])
    ids = client._new((rows, p2), _dt.u32)
    key = ("bitonic", kcols, descending, meta(x), meta(values), meta(indices))
    planned(client, key, (x, keys, ids, values, indices),
            lambda: _network(client, x, keys, ids, kcols, descending, values, indices))  # fmt: skip


def _network(client: Any, x: Tensor, keys: Tensor, ids: Tensor, kcols: int, descending: bool, values: Tensor,
             indices: Tensor) -> None:  # fmt: skip
    rows, cols = x.shape
    p2 = keys.shape[1]
    c = ctype(x.dtype)
    decls = "\n".join([decl("x", 0, x.dtype), f"@group(1) @binding(1) var<storage, read_write> keys: array<{c}>;",
                       "@group(1) @binding(2) var<storage, read_write> ids: array<u32>;",
                       decl("values", 3, values.dtype, "w"), decl("indices", 4, indices.dtype, "w")])  # fmt: skip

    def bufs(vals: Tensor, idx: Tensor) -> list[Any]:
        return [window(client, t.storage, t.dtype, t.offset, t.offset + t.numel)[0] for t in (x, keys, ids, vals, idx)]

    base = [rows, cols, p2, x.offset, 0, 0, kcols, values.offset, indices.offset, int(descending)]
    d3, d4 = _dummy(client, 3), _dummy(client, 4)

    def kern(entry: str) -> Any:
        return kernel(client, "wgsl/sort/bitonic.wgsl", entry, "rwwww", decls, C=c, NANTEST=nan_test(x.dtype))

    launch(client, kern("init"), bufs(d3, d4), base,
           -(-rows * p2 // WG))  # fmt: skip
    step, local = kern("step"), kern("local")
    lb = min(LOCAL, p2)
    blocks = rows * (p2 // lb)

    def run_local(mode: int, k: int) -> None:
        w = [*base, mode, lb]
        w[4] = k
        launch(client, local, bufs(d3, d4), w, blocks)

    run_local(0, 0)
    k = 2 * lb
    while k <= p2:
        j = k // 2
        while j >= lb:
            w = list(base)
            w[4], w[5] = k, j
            launch(client, step, bufs(d3, d4), w, -(-rows * (p2 // 2) // WG))
            j //= 2
        run_local(1, k)
        k *= 2
    launch(client, kern("write"), bufs(values, indices), base,
           -(-rows * kcols // WG))  # fmt: skip


class WgpuSort:
    def _k_sort(self, x: Tensor, values: Tensor, indices: Tensor, descending: bool) -> None:
        _bitonic(self, x, x.shape[1], descending, values, indices)

    def _k_topk(self, x: Tensor, k: int, largest: bool, values: Tensor, indices: Tensor) -> None:
        _bitonic(self, x, k, largest, values, indices)
