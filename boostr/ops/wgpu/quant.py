"""wgpu quantization hooks: every GGML block format in WGSL (``boostr/kernels/wgsl/quant``).

Raw blocks live in a u32-word tensor (the QuantTensor layout of backends without u8 storage:
the flat byte stream, its end zero-padded to a word); kernels address bytes by offset through
``quant/bytes.wgsl``. Each format family file (``legacy``, ``kquants``, ``iq``, ``ternary_fp4``)
defines ``dec_<fmt>(block byte offset, sub)`` decoding one 32-weight chunk into registers, and
the op kernels are written once over that decoder:

- ``dequant.wgsl``: one thread per chunk, f32 (bit-exact with gguf-py) or f16 out;
- ``gemv.wgsl`` (M <= GEMV_MAX_M per dispatch, larger M in row slices): a row block per
  workgroup, x staged in workgroup memory, weights decoded in registers, f32 accumulation,
  subgroup or workgroup-tree reduction;
- ``mm.wgsl`` (M > GEMV_SLICED_M on software adapters): 64x64 output tiles; each K step decodes
  a 64x32 weight tile into workgroup memory (a tiled dequantize-then-matmul that never holds
  the float weight);
- ``quantize.wgsl``: f32 -> Q8_0 / Q8_1 blocks (bit-exact with the CPU / gguf-py).

The IQ grids, ``ksigns_iq2xs`` and ``kvalues_iq4nl`` come from gguf-py and are uploaded once per
client as a byte table. Raw data, activations and outputs larger than one storage binding are
split by rows into binding windows (``_kern.window``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ... import dtype as _dt
from ...errors import UnsupportedDType
from ...kernels.sources import read_source
from ...quant.formats import FORMATS, QuantFormat
from ...tensor import Tensor
from ..traits.quant import QuantOps
from ._kern import decl, kernel, launch, range_chunks, window

FAMILY = {
    **dict.fromkeys(("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q1_0"), "legacy"),
    **dict.fromkeys(("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"), "kquants"),
    **dict.fromkeys(("IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ4_NL", "IQ4_XS"), "iq"),
    **dict.fromkeys(("TQ1_0", "TQ2_0", "MXFP4", "NVFP4"), "ternary_fp4"),
}
FUSED = ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS", "MXFP4")
"""Formats with register decoders tuned for the fused GEMV (the others decode the same way,
through generic per-group code)."""
QUANTIZE = ("Q8_0", "Q8_1")
GEMV_MAX_M = 4
"""Activation rows one GEMV dispatch takes (its MB: 1, 2 or 4); more rows run as slices of this
(H100, Q4_K 28672x8192: 4 rows cost 115 us a row, 8 rows in one dispatch 236 us a row)."""
GEMV_TPR = {1: 32, 2: 32, 4: 16}
"""Threads per weight row of the GEMV kernel by MB (fewer when K has fewer 32-weight chunks); the
staged x tile is MB * TPR * 36 floats (<= 9 KiB). H100, M = 1: TPR 32 beat 64 and 128."""
GEMV_SLICED_M = 32
"""On software adapters (lavapipe), M above this takes the tiled kernel, which decodes W once per
64 rows. Hardware GPUs slice every M into GEMV dispatches: on an H100 that beat the tiled kernel
at every M measured (Q4_K 4096x4096: M=17 0.45 vs 7.6 ms, M=64 1.5 vs 7.7, M=512 8.1 vs 14.8)."""
TILE = 64
WORD = _dt.u32

GRID_FORMATS = ("IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ1_S")


def _table_bytes() -> tuple[np.ndarray, dict[str, int]]:
    """The byte table of the IQ formats and the byte offset of each part (read from gguf-py)."""
    from gguf import quants as gq

    parts: list[tuple[str, np.ndarray]] = [
        ("KSIGNS", np.frombuffer(gq.IQ2_XXS.ksigns, dtype=np.uint8)),
        ("KV_IQ4NL", np.array(gq.IQ4_NL.kvalues, dtype=np.int8).view(np.uint8)),
    ]
    for name in GRID_FORMATS:  # IQ1_M shares IQ1_S's grid (iq1s_grid)
        cls = getattr(gq, name)
        cls.init_grid()
        g = np.asarray(cls.grid, dtype=np.float32).reshape(cls.grid_shape)
        q = g.astype(np.int8)
        assert np.array_equal(q.astype(np.float32), g), name  # the grids are small integers
        parts.append((name, q.reshape(-1).view(np.uint8)))
    offs: dict[str, int] = {}
    pos = 0
    for name, arr in parts:
        offs[name] = pos
        pos += (arr.size + 3) // 4 * 4
    buf = np.zeros(pos, np.uint8)
    for name, arr in parts:
        buf[offs[name] : offs[name] + arr.size] = arr
    return buf, offs


def _tables(client: Any) -> tuple[Tensor, str]:
    """The per-client table tensor (u32 words) and the WGSL constants naming its parts."""
    got = client.__dict__.get("_quant_tables")
    if got is None:
        buf, offs = _table_bytes()
        t = client.from_numpy(buf.view(np.uint32), WORD)
        consts = "\n".join(f"const TB_{k}: u32 = {v}u;" for k, v in offs.items())
        got = client.__dict__["_quant_tables"] = (t, consts)
    return got


def _family(client: Any, fmt: QuantFormat) -> dict[str, object]:
    """Template parameters shared by every quant kernel for ``fmt`` (built once per client)."""
    cache = client.__dict__.setdefault("_quant_family", {})
    got = cache.get(fmt.name)
    if got is None:
        _, consts = _tables(client)
        src = consts + "\n" + read_source(f"wgsl/quant/{FAMILY[fmt.name]}.wgsl")
        got = cache[fmt.name] = {"FAMILY": src, "DEC": "dec_" + fmt.name.lower(), "BPB": fmt.block_elems // 32,
                                 "BB": fmt.block_bytes}  # fmt: skip
    return got


def _wq_decls() -> list[str]:
    return [
        "@group(1) @binding(0) var<storage, read> Wq: array<u32>;",
        "@group(1) @binding(1) var<storage, read> TB: array<u32>;",
    ]


def _raw_span(raw: Tensor, b0: int, b1: int) -> tuple[int, int]:
    """Words of ``raw`` holding its bytes ``[b0, b1)``."""
    base = raw.offset * 4
    return (base + b0) // 4, (base + b1 + 3) // 4


def _bind_raw(client: Any, raw: Tensor, b0: int, b1: int) -> tuple[tuple[Any, int, int], int]:
    """The binding of ``raw``'s bytes ``[b0, b1)`` and the byte offset of ``b0`` inside it."""
    lo, hi = _raw_span(raw, b0, b1)
    binding, base = window(client, raw.storage, WORD, lo, hi)
    return binding, raw.offset * 4 + b0 - base * 4


def _check_fmt(op: str, fmt: QuantFormat, allowed: tuple[str, ...] | frozenset[str]) -> None:
    if fmt.name not in allowed:
        raise UnsupportedDType(op, fmt.name, "wgpu", hint=f"no {fmt.name} {op} kernel on wgpu; has {sorted(allowed)}")


class WgpuQuant(QuantOps):
    """dequantize / quant_matmul for all 26 GGML formats, quantize for Q8_0 and Q8_1.

    Subclasses QuantOps so that these hooks come before the trait's refusing defaults in the
    client's MRO (``WgpuClient`` lists ClientBase, which mixes in every trait, first).
    """

    quant_caps: ClassVar[dict[str, frozenset[str]]] = {
        "dequantize": frozenset(FORMATS),
        "quant_matmul": frozenset(FORMATS),
        "quantize": frozenset(QUANTIZE),
    }

    @property
    def quant_dequant_dtypes(self) -> frozenset[_dt.DType]:  # type: ignore[override]
        return frozenset({_dt.f32, _dt.f16}) if self.has_f16 else frozenset({_dt.f32})

    def _quant_dequantize(self, raw: Tensor, fmt: QuantFormat, out: Tensor) -> None:
        _check_fmt("dequantize", fmt, self.quant_caps["dequantize"])
        rows, k = out.shape
        rb = fmt.row_bytes(k)
        cpr = k // 32
        tables, _ = _tables(self)
        decls = "\n".join([*_wq_decls(), decl("out", 2, out.dtype, "w")])
        kern = kernel(self, "wgsl/quant/dequant.wgsl", "main", "rrw", decls, **_family(self, fmt))

        def spans(r0: int, r1: int) -> list[tuple[Any, _dt.DType, int, int]]:
            return [(raw.storage, WORD, *_raw_span(raw, r0 * rb, r1 * rb)),
                    (out.storage, out.dtype, out.offset + r0 * k, out.offset + r1 * k)]  # fmt: skip

        for r0, r1 in range_chunks(self, rows, spans):
            wb, wo = _bind_raw(self, raw, r0 * rb, r1 * rb)
            ob, obase = window(self, out.storage, out.dtype, out.offset + r0 * k, out.offset + r1 * k)
            n = (r1 - r0) * cpr
            words = [n, cpr, wo, rb, out.offset + r0 * k - obase, k]
            launch(self, kern, [wb, _whole(tables), ob], words, -(-n // 64))

    def _quant_matmul(self, x: Tensor, raw: Tensor, fmt: QuantFormat, n: int, k: int, out: Tensor) -> None:
        _check_fmt("quant_matmul", fmt, self.quant_caps["quant_matmul"])
        if x.offset % 4:  # X is read as vec4: start it on a 16-byte boundary
            x2 = self._new(x.shape, _dt.f32)
            self._k_copy(x, x2)
            x = x2
        m = x.shape[0]
        if m <= GEMV_SLICED_M or not _software(self):
            for m0 in range(0, m, GEMV_MAX_M):
                m1 = min(m, m0 + GEMV_MAX_M)
                _gemv(self, x[m0:m1], raw, fmt, n, k, out[m0:m1])
        else:
            _tiled(self, x, raw, fmt, n, k, out)

    def _quant_quantize(self, x: Tensor, fmt: QuantFormat, out: Tensor) -> None:
        _check_fmt("quantize", fmt, self.quant_caps["quantize"])
        _quantize(self, x, fmt, out)


def _quantize(client: Any, x: Tensor, fmt: QuantFormat, out: Tensor) -> None:
    bpg = 2 if fmt.name == "Q8_0" else 1  # blocks whose bytes fill whole words
    wpg = bpg * fmt.block_bytes // 4
    nblk = x.numel // 32
    nwords = (nblk * fmt.block_bytes + 3) // 4
    decls = "\n".join([decl("x", 0, _dt.f32), "@group(1) @binding(1) var<storage, read_write> Q: array<u32>;"])
    kern = kernel(client, "wgsl/quant/quantize.wgsl", "main", "rw", decls, BPG=bpg, WPG=wpg, BB=fmt.block_bytes,
                  QO=2 if fmt.name == "Q8_0" else 4, HAS_SUM="true" if fmt.name == "Q8_1" else "false")  # fmt: skip
    ngroups = -(-nblk // bpg)

    def spans(g0: int, g1: int) -> list[tuple[Any, _dt.DType, int, int]]:
        b1 = min(nblk, g1 * bpg)
        return [(x.storage, _dt.f32, x.offset + g0 * bpg * 32, x.offset + b1 * 32),
                (out.storage, WORD, out.offset + g0 * wpg, out.offset + min(nwords, g1 * wpg))]  # fmt: skip

    for g0, g1 in range_chunks(client, ngroups, spans):
        (_, _, xlo, xhi), (_, _, olo, ohi) = spans(g0, g1)
        xb, xbase = window(client, x.storage, _dt.f32, xlo, xhi)
        ob, obase = window(client, out.storage, WORD, olo, ohi)
        words = [g1 - g0, xlo - xbase, olo - obase, min(nblk, g1 * bpg) - g0 * bpg, ohi - olo]
        launch(client, kern, [xb, ob], words, -(-(g1 - g0) // 64))


def _software(client: Any) -> bool:
    """Whether the adapter is a CPU implementation (lavapipe, llvmpipe: compute-bound kernels)."""
    got = client.__dict__.get("_quant_software")
    if got is None:
        info = getattr(getattr(client, "adapter", None), "info", None) or {}
        got = client.__dict__["_quant_software"] = str(info.get("adapter_type", "")).lower() == "cpu"
    return bool(got)


def _mm_decls(out: Tensor) -> str:
    return "\n".join([*_wq_decls(), "@group(1) @binding(2) var<storage, read> X: array<vec4<f32>>;",
                      decl("out", 3, out.dtype, "w")])  # fmt: skip


def _sg(client: Any) -> dict[str, str]:
    """Subgroup reduction pieces of gemv.wgsl (a plain tree where the adapter has no subgroups)."""
    if client.has_subgroups:
        return {"SG_FN": "fn sg_add(v: f32) -> f32 { return subgroupAdd(v); }", "SG_LET": "",
                "SG_ARGS": ", @builtin(subgroup_size) sgs: u32, @builtin(subgroup_invocation_id) sid: u32"}  # fmt: skip
    return {"SG_FN": "fn sg_add(v: f32) -> f32 { return v; }", "SG_LET": "let sgs = 4096u; let sid = 0u;",
            "SG_ARGS": ""}  # fmt: skip


def _gemv(client: Any, x: Tensor, raw: Tensor, fmt: QuantFormat, n: int, k: int, out: Tensor) -> None:
    m = x.shape[0]
    mb = 1 << (m - 1).bit_length()
    tpr = min(GEMV_TPR[mb], 1 << (k // 32 - 1).bit_length())
    rpw = 256 // tpr
    rb = fmt.row_bytes(k)
    kern = kernel(client, "wgsl/quant/gemv.wgsl", "main", "rrrw", _mm_decls(out), TPR=tpr, MB=mb, RED=256 * mb,
                  **_sg(client), **_family(client, fmt))  # fmt: skip
    tables, _ = _tables(client)
    xb, xbase = window(client, x.storage, _dt.f32, x.offset, x.offset + m * k)

    def spans(n0: int, n1: int) -> list[tuple[Any, _dt.DType, int, int]]:
        return [(raw.storage, WORD, *_raw_span(raw, n0 * rb, n1 * rb)),
                (out.storage, out.dtype, out.offset + n0, out.offset + (m - 1) * n + n1)]  # fmt: skip

    for n0, n1 in range_chunks(client, n, spans):
        wb, wo = _bind_raw(client, raw, n0 * rb, n1 * rb)
        ob, obase = window(client, out.storage, out.dtype, out.offset + n0, out.offset + (m - 1) * n + n1)
        words = [n1 - n0, k, wo, rb, (x.offset - xbase) // 4, m, out.offset + n0 - obase, n]
        launch(client, kern, [wb, _whole(tables), xb, ob], words, -(-(n1 - n0) // rpw))


def _tiled(client: Any, x: Tensor, raw: Tensor, fmt: QuantFormat, n: int, k: int, out: Tensor) -> None:
    m = x.shape[0]
    rb = fmt.row_bytes(k)
    kern = kernel(client, "wgsl/quant/mm.wgsl", "main", "rrrw", _mm_decls(out), **_family(client, fmt))
    tables, _ = _tables(client)

    def mspans(m0: int, m1: int) -> list[tuple[Any, _dt.DType, int, int]]:
        return [(x.storage, _dt.f32, x.offset + m0 * k, x.offset + m1 * k),
                (out.storage, out.dtype, out.offset + m0 * n, out.offset + m1 * n)]  # fmt: skip

    for m0, m1 in range_chunks(client, m, mspans):
        xb, xbase = window(client, x.storage, _dt.f32, x.offset + m0 * k, x.offset + m1 * k)

        def nspans(n0: int, n1: int, m0: int = m0, m1: int = m1) -> list[tuple[Any, _dt.DType, int, int]]:
            return [(raw.storage, WORD, *_raw_span(raw, n0 * rb, n1 * rb)),
                    (out.storage, out.dtype, out.offset + m0 * n + n0, out.offset + (m1 - 1) * n + n1)]  # fmt: skip

        for n0, n1 in range_chunks(client, n, nspans):
            wb, wo = _bind_raw(client, raw, n0 * rb, n1 * rb)
            lo, hi = out.offset + m0 * n + n0, out.offset + (m1 - 1) * n + n1
            ob, obase = window(client, out.storage, out.dtype, lo, hi)
            words = [n1 - n0, k, wo, rb, (x.offset + m0 * k - xbase) // 4, m1 - m0, lo - obase, n]
            groups = (-(-(n1 - n0) // TILE), -(-(m1 - m0) // TILE), 1)
            launch(client, kern, [wb, _whole(tables), xb, ob], words, groups)


def _whole(t: Tensor) -> tuple[Any, int, int]:
    b = t.storage.buffer
    return (b, 0, b.size)
