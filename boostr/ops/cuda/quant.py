"""CUDA quantization hooks: every GGML block format in CUDA C (``boostr/kernels/cuda/quant``).

Each format has an 8-weight register decoder (``dec8_<fmt>`` in the family headers
``legacy``/``kquants``/``iq``/``ternary_fp4.cuh``, f32 operation order of gguf-py), and the op
kernels are written once over it:

- ``dequant.cu``: f32 (bit-exact with gguf-py), f16 or bf16 out, one 8-weight chunk a thread;
- ``gemv.cu`` (M <= 8 per launch; up to ``GEMV_MAX_M`` rows in slices of 8): the formats of
  ``GEMV_FAST`` run the fast kernel (gemv_fast.cuh: R weight rows a warp, x staged in shared memory,
  aligned wide block loads, exact integer codes times f32 x, one scale product per 16/32 weights),
  launched with the shape ``gemv_config`` picks (``GEMV_TUNED``, measured by
  benchmarks/tune_gemv_cuda.py, else the defaults); the others (or a raw buffer off its block
  alignment) a warp per weight row over the bit-exact ``dec8_<fmt>`` decoders, f32 accumulation;
- ``gemv_swiglu.cu``: ``quant_swiglu`` for M <= 8 and gate / up weights of one fast format: the fast
  GEMV over both matrices in the same warps, ``silu(g) * u`` written directly;
- larger M: weight row tiles (``TILE_BYTES`` at most) dequantized and multiplied by cuBLAS
  (through CuPy): f32 tiles and SGEMM for f32 activations (the conformance tolerance is f32's),
  f16 tiles and an f16 GEMM with f32 accumulation for f16 / bf16 activations;
- ``quantize.cu``: f32 -> Q8_0 / Q8_1 / Q8_K blocks (bit-exact with gguf-py / the CPU).

IQ grids and the 16-level tables live in ``kernels/cuda/quant/tables.cuh``, generated from
gguf-py's own tables by ``tables_cuh`` (``python -m boostr.ops.cuda.quant`` rewrites it; a
conformance test checks it); ``ksigns_iq2xs`` is computed in the kernel from its parity rule.
"""

from __future__ import annotations

import functools
import math
from typing import Any, ClassVar, NamedTuple

import numpy as np

from ... import dtype as _dt
from ...errors import UnsupportedDType
from ...quant.formats import FORMATS, QuantFormat
from ...quant.quant_tensor import QuantTensor
from ...runtime.cuda.kernels import Params
from ...tensor import Tensor
from ..traits.quant import QuantOps
from ._util import CTYPE, CudaHookBase, aligned16

QUANTIZE = ("Q8_0", "Q8_1", "Q8_K")
OUT_DTYPES = (_dt.f32, _dt.f16, _dt.bf16)
GEMV_MB = (1, 2, 4, 8)
GEMV_MAX_M = 32
"""Rows of x up to which quant_matmul runs GEMV launches (8 rows each); more take the tiles."""
TILE_BYTES = 64 << 20
"""Largest float weight tile of the tiled path (rows of N, a multiple of 64)."""
WARPS = 4  # weight rows per generic GEMV thread block (gemv.cu)
GEMV_FAST = {
    "Q4_0": 4, "Q4_1": 4, "Q5_0": 4, "Q5_1": 4, "Q8_0": 4, "Q2_K": 4, "Q3_K": 2, "Q4_K": 4, "Q5_K": 2,
    "Q6_K": 2, "IQ4_NL": 4, "IQ4_XS": 4, "MXFP4": 4,
}  # fmt: skip
"""Formats with a fast GEMV unit (gemv_units.cuh / gemv_kunits.cuh) -> most weight rows R a warp takes."""
GEMV_R = {1: (1, 2, 4), 2: (1, 2), 4: (1, 2), 8: (1, 2)}
"""Rows a warp (R) the fast kernel is built for, per rows of x (MB): entries gemv_<fmt>_m<MB>_r<R>."""
SWIGLU_R = {1: (1, 2), 2: (1,), 4: (1,), 8: (1,)}
"""Rows a warp of each matrix the fused SwiGLU is built for: entries gemv_swiglu_<fmt>_m<MB>_r<R>."""
GV_WARPS = 8  # default warps per fast GEMV thread block (gemv_fast.cuh takes 1 .. 8 at launch)
GEMV_WARPS = (1, 2, 4, 8)
GEMV_PF = (1, 2)
"""Units a lane keeps in flight (module parameter GVP of gemv.cu / gemv_swiglu.cu)."""
GEMV_X_SMEM = 64 << 10
"""Shared memory for x of one fast GEMV block: K is staged in chunks of at most this many bytes."""
SMEM_DEFAULT = 48 << 10  # dynamic shared memory a launch gets without opting in
SPLIT_ALIGN = 256  # weights: K-split ranges and x chunks start on multiples of this
_COUNTERS_MIN = 1 << 16  # u32 arrival counters of K-split launches (one per CTA column), allocated once


class GemvConfig(NamedTuple):
    """Launch shape of the fast GEMV: ``warps`` a CTA (1, 2, 4, 8), ``r`` weight rows a warp (0: the
    ``gemv_rows`` choice), ``pf`` units a lane in flight (1, 2), ``kc`` x chunk floats (0: ``gemv_chunk``),
    ``split`` CTAs a row group's K is split over (partials summed in order by the last, deterministic)."""

    warps: int = GV_WARPS
    r: int = 0
    pf: int = 1
    kc: int = 0
    split: int = 1


GEMV_TUNED: dict[tuple[str, int, int, int], tuple[int, int, int, int, int]] = {
    ("Q4_0", 1, 28672, 8192): (8, 4, 1, 0, 1), ("Q4_0", 1, 4096, 4096): (8, 2, 2, 0, 1),
    ("Q4_0", 1, 6144, 4096): (4, 4, 2, 0, 1), ("Q4_0", 1, 14336, 4096): (4, 4, 1, 0, 1),
    ("Q4_0", 1, 4096, 14336): (8, 4, 2, 0, 1), ("Q8_0", 1, 28672, 8192): (8, 2, 1, 0, 1),
    ("Q8_0", 1, 4096, 4096): (8, 2, 2, 0, 1), ("Q8_0", 1, 6144, 4096): (4, 4, 1, 0, 1),
    ("Q8_0", 1, 14336, 4096): (8, 1, 1, 0, 1), ("Q8_0", 1, 4096, 14336): (8, 2, 2, 0, 1),
    ("Q4_K", 1, 28672, 8192): (8, 4, 1, 0, 1), ("Q4_K", 1, 4096, 4096): (8, 2, 1, 0, 1),
    ("Q4_K", 1, 6144, 4096): (8, 2, 1, 0, 1), ("Q4_K", 1, 14336, 4096): (4, 4, 1, 0, 1),
    ("Q4_K", 1, 4096, 14336): (8, 4, 1, 0, 1), ("Q6_K", 1, 28672, 8192): (8, 2, 1, 0, 1),
    ("Q6_K", 1, 4096, 4096): (8, 2, 2, 0, 1), ("Q6_K", 1, 6144, 4096): (8, 2, 1, 0, 1),
    ("Q6_K", 1, 14336, 4096): (4, 2, 1, 0, 1), ("Q6_K", 1, 4096, 14336): (8, 2, 1, 0, 1),
}  # fmt: skip
"""(format, MB, N, K) -> GemvConfig fields (warps, r, pf, kc, split) of the fast GEMV, measured on an H100
(2026-11-25) by ``benchmarks/tune_gemv_cuda.py`` (which prints entries to paste here). A call takes the
entry of its format and MB nearest in log2(N) + log2(K) among those within a factor 2 of both N and K (its shape
class); other shapes and formats take ``GemvConfig()`` (8 warps, ``gemv_rows``, ``gemv_chunk``, no split)."""
GRID_FORMATS = ("IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ1_S")
_GRID_OF = {**{f: f for f in GRID_FORMATS}, "IQ1_M": "IQ1_S"}
_KV_OF = {"IQ4_NL": "IQ4_NL", "IQ4_XS": "IQ4_NL", "MXFP4": "MXFP4", "NVFP4": "MXFP4"}
TABLES_CUH = "cuda/quant/tables.cuh"
_SMEM_SET: dict[int, int] = {}  # id(kernel function) -> dynamic shared memory opted in


def format_params(name: str) -> Params:
    """Template parameters of format ``name``: id, block sizes and the tables it reads."""
    fmt = FORMATS[name]
    grid, kv = _GRID_OF.get(name, "NONE"), _KV_OF.get(name, "NONE")
    return (("F", name.lower()), ("BE", fmt.block_elems), ("BB", fmt.block_bytes), ("GRID", grid), ("KV", kv))


@functools.cache
def gemv_params(name: str, pf: int = 1) -> Params:
    """Parameters of ``quant/gemv.cu`` / ``gemv_swiglu.cu``: the format's, ``FAST`` (1: build the fast
    kernel), ``KVT`` (the IQ4_NL / MXFP4 levels as 4 words of int8 + 128 bytes, little endian, from
    gguf-py) and ``GVP`` (units a lane of the fast kernel keeps in flight, ``GEMV_PF``)."""
    kvt = "0u, 0u, 0u, 0u"
    kv = _KV_OF.get(name)
    if name in GEMV_FAST and kv is not None:
        from gguf import quants as gq

        vals = [int(v) for v in getattr(gq, kv).kvalues]
        assert len(vals) == 16 and all(-128 <= v < 128 for v in vals), name
        b = np.array([v + 128 for v in vals], np.uint8).view("<u4")
        kvt = ", ".join(f"0x{int(w):08x}u" for w in b)
    return (*format_params(name), ("FAST", int(name in GEMV_FAST)), ("KVT", kvt), ("GVP", pf))


def gemv_align(name: str) -> int:
    """Byte alignment the fast GEMV assumes of every block: that of BB in an aligned buffer (<= 16)."""
    bb = FORMATS[name].block_bytes
    return min(16, bb & -bb)


def gemv_rows(name: str, n: int, mb: int, sms: int, warps: int = GV_WARPS) -> int:
    """Weight rows a warp of the fast GEMV (R): the most the format and MB allow that still leave
    two thread blocks of ``warps`` warps per SM; else the fewest."""
    rs = [r for r in GEMV_R[mb] if r <= GEMV_FAST[name]]
    for r in reversed(rs):
        if -(-n // (warps * r)) >= 2 * sms:
            return r
    return rs[0]


def _tuned(name: str, mb: int, n: int, k: int) -> GemvConfig:
    """The ``GEMV_TUNED`` entry of (name, mb) nearest to n x k within a factor 2 of both, else defaults."""
    best, dist = GemvConfig(), 3.0
    for (f, b, tn, tk), cfg in GEMV_TUNED.items():
        if f == name and b == mb:
            dn, dk = abs(math.log2(n / tn)), abs(math.log2(k / tk))
            if dn <= 1.0 and dk <= 1.0 and dn + dk < dist:
                best, dist = GemvConfig(*cfg), dn + dk
    return best


_CFG: dict[tuple[Any, ...], GemvConfig] = {}


def gemv_config(name: str, n: int, k: int, mb: int, sms: int) -> GemvConfig:
    """The fast GEMV launch shape of format ``name`` for ``mb`` (1, 2, 4, 8) rows of x at ``n`` x ``k``
    on ``sms`` SMs: the ``GEMV_TUNED`` entry of its shape class (or the defaults) with ``r`` and
    ``kc`` resolved (0: ``gemv_rows`` / ``gemv_chunk``) and every field clamped to what is built.
    Cached per call shape and module settings (the table, ``GEMV_X_SMEM``, ``gemv_rows``)."""
    key = (name, n, k, mb, sms, id(GEMV_TUNED), GEMV_X_SMEM, gemv_rows)
    cfg = _CFG.get(key)
    if cfg is None:
        cfg = _CFG[key] = _resolve(name, n, k, mb, sms, _tuned(name, mb, n, k))
    return cfg


def swiglu_config(name: str, n: int, k: int, mb: int, sms: int) -> GemvConfig:
    """The fused SwiGLU launch shape: ``gemv_config``'s with half the rows a warp (each warp takes R rows
    of both matrices), R from ``SWIGLU_R[mb]`` and at most half the format's GEMV rows."""
    key = ("swiglu", name, n, k, mb, sms, id(GEMV_TUNED), GEMV_X_SMEM, gemv_rows)
    cfg = _CFG.get(key)
    if cfg is None:
        g = gemv_config(name, n, k, mb, sms)
        rs = [r for r in SWIGLU_R[mb] if 2 * r <= max(2, GEMV_FAST[name])]
        cfg = _CFG[key] = _resolve(name, n, k, mb, sms, g._replace(r=max(1, g.r // 2)), rs)
    return cfg


def _resolve(name: str, n: int, k: int, mb: int, sms: int, cfg: GemvConfig, rs: Any = None) -> GemvConfig:
    """``cfg`` with r, kc resolved and clamped (rows a warp from ``rs``, default ``GEMV_R[mb]``)."""
    warps = max(w for w in GEMV_WARPS if w <= max(1, cfg.warps))
    avail = [r for r in (rs or GEMV_R[mb]) if r <= GEMV_FAST[name]] or [1]
    r = cfg.r or gemv_rows(name, n, mb, sms, warps)
    r = max([v for v in avail if v <= r] or avail[:1])
    pf = cfg.pf if cfg.pf in GEMV_PF else 1
    kc = gemv_chunk(k, mb)
    if cfg.kc > 0 and cfg.kc % SPLIT_ALIGN == 0:  # only smaller chunks than the default (more CTAs an SM)
        kc = min(kc, cfg.kc)
    split = max(1, min(cfg.split, k // SPLIT_ALIGN))
    return GemvConfig(warps, r, pf, kc, split)


def gemv_smem(kc: int, mb: int) -> int:
    """Dynamic shared memory bytes of a fast GEMV launch: x [MB][KC] f32 and its group sums [MB][KC / 16]."""
    return mb * kc * 4 + mb * (kc // 16) * 4


def gemv_split(k: int, kc: int, split: int) -> tuple[int, int, int]:
    """(KS, S, KC) of a launch: K per split (a multiple of ``SPLIT_ALIGN``, or K), the splits, the x chunk."""
    if split <= 1 or k <= SPLIT_ALIGN:
        return k, 1, kc
    ks = -(-k // (split * SPLIT_ALIGN)) * SPLIT_ALIGN
    s = -(-k // ks)
    if s <= 1:
        return k, 1, kc
    return ks, s, min(kc, ks)


def gemv_chunk(k: int, mb: int) -> int:
    """K chunk (floats of one x row) the fast GEMV stages at a time: all of K when MB rows fit in
    ``GEMV_X_SMEM``, else the largest multiple of 256 that fits."""
    if mb * k * 4 <= GEMV_X_SMEM:
        return k
    return (GEMV_X_SMEM // (4 * mb)) // 256 * 256


def tables_cuh() -> str:
    """The text of ``kernels/cuda/quant/tables.cuh``, generated from gguf-py's tables.

    Regenerate with ``python -m boostr.ops.cuda.quant``; a conformance test checks the file.
    """
    from gguf import quants as gq

    lines = [
        "// IQ codebooks (k_grid), 16-level tables (k_kv) and the IQ1 delta; quant.cuh selects one grid",
        "// and one level table per module (QGRID_<fmt>, QKV_<fmt>). Layout: grid row r is the u64",
        "// k_grid[r] whose byte k is the int8 value k of the row (rows of 4 fill the low 4 bytes).",
        "// GENERATED by `python -m boostr.ops.cuda.quant` from gguf-py (gguf/quants.py grid_hex /",
        "// grid_map, IQ4_NL.kvalues, MXFP4.kvalues, IQ1_S.delta): do not edit by hand.",
        "// Reference: llama.cpp ggml-common.h (iq2xxs_grid ... iq1s_grid, kvalues_iq4nl, kvalues_mxfp4).",
        "#ifndef BOOSTR_QUANT_TABLES_CUH",
        "#define BOOSTR_QUANT_TABLES_CUH",
        f"#define IQ1_DELTA ({float(gq.IQ1_S.delta)!r}f)",
    ]
    for i, name in enumerate(GRID_FORMATS):
        cls = getattr(gq, name)
        cls.init_grid()
        grid = np.asarray(cls.grid, dtype=np.float32).reshape(cls.grid_shape)
        g8 = grid.astype(np.int8)
        assert np.array_equal(g8.astype(np.float32), grid), name
        rows = np.zeros((grid.shape[0], 8), np.int8)
        rows[:, : grid.shape[1]] = g8
        words = [f"0x{int(w):016x}ull" for w in rows.view(np.uint8).copy().view("<u8").reshape(-1)]
        lines.append(f"#{'if' if i == 0 else 'elif'} defined(QGRID_{name})")
        lines.append(f"__device__ const unsigned long long k_grid[{len(words)}] = {{")
        lines += ["    " + ", ".join(words[r : r + 12]) + "," for r in range(0, len(words), 12)]
        lines.append("};")
    lines += ["#else", "__device__ const unsigned long long k_grid[1] = {0ull};", "#endif"]
    for i, name in enumerate(("IQ4_NL", "MXFP4")):
        kv = ", ".join(f"{float(v)!r}f" for v in getattr(gq, name).kvalues)
        lines += [f"#{'if' if i == 0 else 'elif'} defined(QKV_{name})", f"__device__ const float k_kv[16] = {{{kv}}};"]
    lines += ["#else", "__device__ const float k_kv[16] = {0.0f};", "#endif", "#endif  // BOOSTR_QUANT_TABLES_CUH"]
    return "\n".join(lines) + "\n"


def dequant_params(name: str, dt: _dt.DType) -> Params:
    """Parameters of ``quant/dequant.cu`` for format ``name`` writing ``dt``."""
    return (*format_params(name), ("T", CTYPE[dt]), ("N", dt.name))


def quantize_params() -> Params:
    """Parameters of ``quant/quantize.cu`` (no format tables used: those of Q8_0)."""
    return format_params("Q8_0")


def _check_fmt(op: str, fmt: QuantFormat, allowed: frozenset[str]) -> None:
    if fmt.name not in allowed:
        raise UnsupportedDType(op, fmt.name, "cuda", hint=f"no {fmt.name} {op} kernel on cuda; has {sorted(allowed)}")


def _capturing(cp: Any) -> bool:
    """Whether CuPy's current stream is capturing a CUDA graph."""
    stream = cp.cuda.get_current_stream()
    if hasattr(stream, "is_capturing"):
        return bool(stream.is_capturing())
    return bool(cp.cuda.runtime.streamIsCapturing(stream.ptr))


def _ptr(t: Tensor) -> int:
    return int(t.storage.data.ptr + t.offset * t.dtype.itemsize)


def _swiglu_rows(client: Any, x: Any, wg: Any, wu: Any) -> int:
    """Rows of ``x`` when the fused CUDA SwiGLU applies (see ``CudaQuant.quant_swiglu``), else 0."""
    if type(wg) is not QuantTensor or type(wu) is not QuantTensor or not isinstance(x, Tensor):
        return 0
    if x.client is not client or wg.client is not client or wu.client is not client or x.ndim == 0:
        return 0
    name = wg.format.name
    if name not in GEMV_FAST or wu.format.name != name or len(wg.shape) != 2 or tuple(wu.shape) != tuple(wg.shape):
        return 0
    n, k = wg.shape
    if x.dtype not in OUT_DTYPES or x.shape[-1] != k or n == 0 or k == 0:
        return 0
    rows = x.numel // k
    al = gemv_align(name)
    return rows if 1 <= rows <= 8 and _ptr(wg.data) % al == 0 and _ptr(wu.data) % al == 0 else 0


def _tile_rows(n: int, k: int, itemsize: int) -> int:
    rows = max(64, (TILE_BYTES // max(1, k * itemsize)) // 64 * 64)
    return min(n, rows)


class CudaQuant(QuantOps, CudaHookBase):
    """dequantize / quant_matmul for all 26 GGML formats, quantize for Q8_0, Q8_1 and Q8_K.

    Subclasses QuantOps so that these hooks come before the trait's refusing defaults in the
    client's MRO (``CudaClient`` lists ClientBase, which mixes in every trait, first).
    """

    quant_caps: ClassVar[dict[str, frozenset[str]]] = {
        "dequantize": frozenset(FORMATS),
        "quant_matmul": frozenset(FORMATS),
        "quantize": frozenset(QUANTIZE),
    }
    quant_dequant_dtypes: frozenset[_dt.DType] = frozenset(OUT_DTYPES)

    def _quant_dequantize(self, raw: Tensor, fmt: QuantFormat, out: Tensor) -> None:
        _check_fmt("dequantize", fmt, self.quant_caps["dequantize"])
        nch = out.numel // 8
        params = dequant_params(fmt.name, out.dtype)
        args = [out, raw, nch, int(aligned16(out))]
        self._launch_flat("cuda/quant/dequant.cu", f"dequant_{fmt.name.lower()}_{out.dtype.name}", params, nch, args)

    def _quant_matmul(self, x: Tensor, raw: Tensor, fmt: QuantFormat, n: int, k: int, out: Tensor) -> None:
        _check_fmt("quant_matmul", fmt, self.quant_caps["quant_matmul"])
        m = x.shape[0]
        if m > GEMV_MAX_M:
            self._quant_tiled(x, raw, fmt, n, k, out)
            return
        if not aligned16(x):  # x rows are read as float4
            x2 = self._new(x.shape, _dt.f32)  # type: ignore[attr-defined]
            self._k_copy(x, x2)  # type: ignore[attr-defined]
            x = x2
        name = fmt.name
        fast = name in GEMV_FAST and _ptr(raw) % gemv_align(name) == 0
        for m0 in range(0, m, 8):
            rows = min(8, m - m0)
            mb = next(b for b in GEMV_MB if b >= rows)
            if fast:
                cfg = gemv_config(name, n, k, mb, self.sm_count)
                self._gemv_fast("gemv", name, out[m0 : m0 + rows], x[m0 : m0 + rows], [raw], n, k, mb, cfg)
            else:
                args = [out[m0 : m0 + rows], x[m0 : m0 + rows], raw, rows, n, k]
                grid = (n + WARPS - 1) // WARPS
                self._launch(
                    "cuda/quant/gemv.cu", f"gemv_{name.lower()}_m{mb}", gemv_params(name), grid, 32 * WARPS, args
                )

    def _gemv_fast(
        self, op: str, name: str, out: Tensor, x: Tensor, raws: list[Tensor], n: int, k: int, mb: int, cfg: GemvConfig
    ) -> None:
        """Launch the fast kernel ``<op>_<fmt>_m<mb>_r<r>`` (op ``gemv``: one weight matrix; ``gemv_swiglu``:
        gate and up) with the resolved launch shape ``cfg``: ``out [rows, N]`` f32 from ``x [rows, K]``."""
        rows = x.shape[0]
        ks, s, kc = gemv_split(k, cfg.kc, cfg.split)
        gx = -(-n // (cfg.warps * cfg.r))
        part: Tensor | None = None
        cnt = None
        if s > 1:
            cnt = self._gemv_counters(gx)
            if cnt is None:  # first K-split launch while a CUDA graph is captured: no split this time
                ks, s, kc = k, 1, cfg.kc
            else:
                part = self._new((s * len(raws) * rows * n,), _dt.f32)  # type: ignore[attr-defined]
        rel = f"cuda/quant/{op}.cu"
        entry = f"{op}_{name.lower()}_m{mb}_r{cfg.r}"
        shared = gemv_smem(kc, mb)
        fn = self.kernels.function(rel, entry, gemv_params(name, cfg.pf))
        if shared > SMEM_DEFAULT and _SMEM_SET.get(id(fn), 0) < shared:  # opt in above 48 KiB
            from cupy_backends.cuda.api import driver

            with self._scope():
                driver.funcSetAttribute(fn.ptr, driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, shared)
            _SMEM_SET[id(fn)] = shared
        args = [out, x, *raws, rows, n, k, kc, ks, part, cnt]
        self._launch(rel, entry, gemv_params(name, cfg.pf), (gx, s), 32 * cfg.warps, args, shared)

    def _gemv_counters(self, ctas: int) -> Any:
        """The zeroed u32 arrival counters of K-split launches (>= ``ctas``; every launch leaves them 0),
        allocated outside CUDA graph capture; None while a stream captures and none are large enough."""
        cnt = getattr(self, "_gv_counters", None)
        if cnt is not None and cnt.size >= ctas:
            return cnt
        cp = self.cp
        with self._scope():
            if _capturing(cp):
                return None
            size = max(_COUNTERS_MIN, 1 << (ctas - 1).bit_length())
            cnt = cp.zeros(size, dtype=cp.uint32)
            cp.cuda.get_current_stream().synchronize()
        self._gv_counters = cnt
        return cnt

    def quant_swiglu(self, x: Tensor, w_gate: Any, w_up: Any) -> Tensor:
        """``silu(x @ gate^T) * (x @ up^T)``; see ``QuantOps.quant_swiglu``. Fused (``gemv_swiglu.cu``)
        for at most 8 rows of x and gate / up of one ``GEMV_FAST`` format and shape, both block-aligned:
        x is taken as f32 and the f32 result cast to x's dtype; everything else takes the trait's path."""
        rows = _swiglu_rows(self, x, w_gate, w_up)
        if not rows:
            return super().quant_swiglu(x, w_gate, w_up)
        n, k = w_gate.shape
        name = w_gate.format.name
        x2 = self.contiguous(self.cast(x, _dt.f32).reshape(rows, k))
        if not aligned16(x2):
            x3 = self._new((rows, k), _dt.f32)  # type: ignore[attr-defined]
            self._k_copy(x2, x3)  # type: ignore[attr-defined]
            x2 = x3
        out = self._new((rows, n), _dt.f32)  # type: ignore[attr-defined]
        mb = next(b for b in GEMV_MB if b >= rows)
        cfg = swiglu_config(name, n, k, mb, self.sm_count)
        self._gemv_fast("gemv_swiglu", name, out, x2, [w_gate.data, w_up.data], n, k, mb, cfg)
        res = out.reshape(*x.shape[:-1], n)
        return res if x.dtype is _dt.f32 else self.cast(res, x.dtype)

    def _quant_tiled(self, x: Tensor, raw: Tensor, fmt: QuantFormat, n: int, k: int, out: Tensor) -> None:
        """``out = x @ W^T`` through dequantized weight row tiles and cuBLAS (x, out: same float dtype)."""
        dt = x.dtype
        rb = fmt.row_bytes(k)
        tn = _tile_rows(n, k, dt.itemsize)
        tile = self._new((tn, k), dt)  # type: ignore[attr-defined]
        cp = self.cp
        with self._scope():
            xv, ov = self._cp_view(x), self._cp_view(out)
            for n0 in range(0, n, tn):
                rows = min(tn, n - n0)
                tv = tile.narrow(0, 0, rows)
                self._quant_dequantize(raw.narrow(0, n0 * rb, rows * rb), fmt, tv)
                ov[:, n0 : n0 + rows] = cp.matmul(xv, self._cp_view(tv).T)

    def quant_matmul(self, x: Tensor, w: Any) -> Tensor:
        """``x @ W^T`` with quantized ``W``; see ``QuantOps.quant_matmul``. f16 / bf16 ``x`` of more
        than ``GEMV_MAX_M`` rows multiplies f16 weight tiles (f32 accumulation) instead of f32 ones;
        everything else (4-bit ``Int4QuantTensor`` weights included) takes the trait's path."""
        if (
            type(w) is not QuantTensor
            or not isinstance(x, Tensor)
            or x.client is not self
            or x.dtype not in (_dt.f16, _dt.bf16)
            or x.ndim == 0
            or getattr(w, "client", None) is not self
            or len(getattr(w, "shape", ())) != 2
            or w.shape[1] != x.shape[-1]
            or x.numel // max(1, x.shape[-1]) <= GEMV_MAX_M
            or w.shape[0] == 0
        ):
            return super().quant_matmul(x, w)
        self._check_quant("w", w)
        _check_fmt("quant_matmul", w.format, self.quant_caps["quant_matmul"])
        n, k = w.shape
        rows = x.numel // k
        xh = self.contiguous(self.cast(x, _dt.f16).reshape(rows, k))
        out = self._new((rows, n), _dt.f16)  # type: ignore[attr-defined]
        self._quant_tiled(xh, w.data, w.format, n, k, out)
        res = out.reshape(*x.shape[:-1], n)
        return res if x.dtype is _dt.f16 else self.cast(res, x.dtype)

    def _quant_quantize(self, x: Tensor, fmt: QuantFormat, out: Tensor) -> None:
        _check_fmt("quantize", fmt, self.quant_caps["quantize"])
        nblk = x.numel // fmt.block_elems
        grid = max(1, min(1 << 20, (nblk + 7) // 8))  # 8 warps (blocks) a 256-thread block
        self._launch("cuda/quant/quantize.cu", f"quantize_{fmt.name.lower()}", quantize_params(), grid, 256,
                     [x, out, nblk])  # fmt: skip


__all__ = [
    "CudaQuant", "GEMV_FAST", "GEMV_MAX_M", "GEMV_R", "GEMV_TUNED", "OUT_DTYPES", "QUANTIZE", "SWIGLU_R", "TABLES_CUH",
    "GemvConfig", "dequant_params", "format_params", "gemv_align", "gemv_chunk", "gemv_config", "gemv_params",
    "gemv_rows", "gemv_smem", "gemv_split", "quantize_params", "swiglu_config", "tables_cuh",
]  # fmt: skip


if __name__ == "__main__":
    from ...kernels.sources import KERNELS_DIR

    (KERNELS_DIR / TABLES_CUH).write_text(tables_cuh())
