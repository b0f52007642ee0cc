"""wgpu hooks of the 4-bit formats (NF4, AWQ, GPTQ): WGSL kernels ``kernels/wgsl/quant/int4*.wgsl``.

The weight buffers (``data``, ``scales``, ``zeros``, ``g_idx``: u32-word byte streams) are bound
whole: each must fit one storage binding (``max_binding``), else the op refuses with
UnsupportedDType. Activations and outputs are bound in windows of rows (``_kern.window``).

- dequantize: ``int4_dequant.wgsl``, one thread per 8-weight chunk;
- quant_matmul, M <= ``GEMV_MAX_M``: ``int4_gemv.wgsl`` in slices of up to 4 rows (columns along
  lanes for AWQ / GPTQ, K along lanes for NF4), weights decoded in registers;
- larger M: ``int4_mm.wgsl``, 64 x 64 output tiles over 64 x 32 decoded weight tiles in
  workgroup memory (the float W is never held).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ... import dtype as _dt
from ...errors import UnsupportedDType
from ...tensor import Tensor
from ..traits.quant_int4 import Int4QuantOps
from ._kern import decl, kernel, launch, range_chunks, window

FORMATS = frozenset({"NF4", "AWQ", "GPTQ"})
GEMV_MAX_M = 16
"""Rows up to which quant_matmul runs GEMV dispatches (4 rows each); more take the tiled kernel."""
WORD = _dt.u32
_WDECLS = [f"@group(1) @binding({i}) var<storage, read> {b}: array<u32>;" for i, b in enumerate("Wq S Z G".split())]


def _whole(t: Tensor) -> tuple[Any, int, int]:
    b = t.storage.buffer
    return (b, 0, b.size)


def _weights(client: Any, w: Any) -> tuple[list[tuple[Any, int, int]], list[int]]:
    """Bindings of Wq, S, Z, G (a dummy for absent ones) and the P words 0..8 of int4.wgsl."""
    dummy = client.__dict__.get("_int4_dummy")
    if dummy is None:
        dummy = client.__dict__["_int4_dummy"] = client._new((4,), WORD)  # never read: no upload
    binds, offs = [], []
    for name in ("data", "scales", "zeros", "g_idx"):
        t = getattr(w, name) if name != "data" else w.data
        t = dummy if t is None else t
        if t.storage.buffer.size > client.max_binding:
            hint = f"{name} buffer larger than one storage binding ({client.max_binding} bytes)"
            raise UnsupportedDType("quant_matmul", w.format.name, "wgpu", hint=hint)
        binds.append(_whole(t))
        offs.append(t.offset)
    n, k = w.shape
    return binds, [n, k, w.group_size, -(-n // 8), w.zero_offset, *offs]


def _tmpl(w: Any) -> dict[str, object]:
    return {"DEC": "dec8_" + w.format.name.lower(), "ACT": "true" if w.g_idx is not None else "false"}


class WgpuQuantInt4(Int4QuantOps):
    """``_int4_dequantize`` / ``_int4_matmul`` for NF4, AWQ and GPTQ (see ``traits/quant_int4.py``).

    Subclasses the trait so that these hooks precede its refusing defaults in the client's MRO
    (``WgpuClient`` lists ClientBase first)."""

    int4_caps: ClassVar[dict[str, frozenset[str]]] = {"dequantize": FORMATS, "quant_matmul": FORMATS}

    def _int4_dequantize(self, w: Any, out: Tensor) -> None:
        n, k = w.shape
        binds, words = _weights(self, w)
        decls = "\n".join([*_WDECLS, decl("out", 4, out.dtype, "w")])
        kern = kernel(self, "wgsl/quant/int4_dequant.wgsl", "main", "rrrrw", decls, **_tmpl(w))
        cpr = k // 8

        def spans(r0: int, r1: int) -> list[tuple[Any, _dt.DType, int, int]]:
            return [(out.storage, out.dtype, out.offset + r0 * k, out.offset + r1 * k)]

        for r0, r1 in range_chunks(self, n, spans):
            ob, obase = window(self, out.storage, out.dtype, out.offset + r0 * k, out.offset + r1 * k)
            p = [*words, 0, 0, out.offset - obase, k, r1 * cpr, r0 * cpr]
            launch(self, kern, [*binds, ob], p, -(-((r1 - r0) * cpr) // 64))

    def _int4_matmul(self, x: Tensor, w: Any, out: Tensor) -> None:
        if x.offset % 4:  # X is read as vec4: start it on a 16-byte boundary
            x2 = self._new(x.shape, _dt.f32)
            self._k_copy(x, x2)
            x = x2
        m = x.shape[0]
        if m <= GEMV_MAX_M:
            for m0 in range(0, m, 4):
                _gemv(self, x[m0 : min(m, m0 + 4)], w, out[m0 : min(m, m0 + 4)])
        else:
            _tiled(self, x, w, out)


def _mm_decls(out: Tensor) -> str:
    return "\n".join([*_WDECLS, "@group(1) @binding(4) var<storage, read> X: array<vec4<f32>>;",
                      decl("out", 5, out.dtype, "w")])  # fmt: skip


def _gemv(client: Any, x: Tensor, w: Any, out: Tensor) -> None:
    m = x.shape[0]
    n, k = w.shape
    mb = 1 << (m - 1).bit_length()
    nfast = w.format.name != "NF4"
    tpk = 8 if nfast else 32
    kern = kernel(client, "wgsl/quant/int4_gemv.wgsl", "main", "rrrrrw", _mm_decls(out), MB=mb, TPK=tpk,
                  NFAST="true" if nfast else "false", RED=256 * mb, **_tmpl(w))  # fmt: skip
    binds, words = _weights(client, w)
    xb, xbase = window(client, x.storage, _dt.f32, x.offset, x.offset + m * k)
    ob, obase = window(client, out.storage, out.dtype, out.offset, out.offset + (m - 1) * n + n)
    p = [*words, m, (x.offset - xbase) // 4, out.offset - obase, n]
    launch(client, kern, [*binds, xb, ob], p, -(-n // (256 // tpk)))


def _tiled(client: Any, x: Tensor, w: Any, out: Tensor) -> None:
    m = x.shape[0]
    n, k = w.shape
    kern = kernel(client, "wgsl/quant/int4_mm.wgsl", "main", "rrrrrw", _mm_decls(out), **_tmpl(w))
    binds, words = _weights(client, w)

    def spans(m0: int, m1: int) -> list[tuple[Any, _dt.DType, int, int]]:
        return [(x.storage, _dt.f32, x.offset + m0 * k, x.offset + m1 * k),
                (out.storage, out.dtype, out.offset + m0 * n, out.offset + m1 * n)]  # fmt: skip

    for m0, m1 in range_chunks(client, m, spans):
        xb, xbase = window(client, x.storage, _dt.f32, x.offset + m0 * k, x.offset + m1 * k)
        ob, obase = window(client, out.storage, out.dtype, out.offset + m0 * n, out.offset + m1 * n)
        p = [*words, m1 - m0, (x.offset + m0 * k - xbase) // 4, out.offset + m0 * n - obase, n]
        launch(client, kern, [*binds, xb, ob], p, (-(-n // 64), -(-(m1 - m0) // 64), 1))


__all__ = ["WgpuQuantInt4"]
