"""CUDA quantization hooks: every GGML block format in CUDA C (``boostr/kernels/cuda/quant``).

Each format has an 8-weight register decoder (``dec8_<fmt>`` in the family headers
``legacy``/``kquants``/``iq``/``ternary_fp4.cuh``, f32 operation order of gguf-py), and the op
kernels are written once over it:

- ``dequant.cu``: f32 (bit-exact with gguf-py), f16 or bf16 out, one 8-weight chunk a thread;
- ``gemv.cu`` (M <= 8 per launch; up to ``GEMV_MAX_M`` rows in slices of 8): the formats of
  ``GEMV_FAST`` run the fast kernel (gemv_fast.cuh: R weight rows a warp, x staged in shared memory,
  aligned wide block loads, exact integer codes times f32 x, one scale product per 16/32 weights);
  the others (or a raw buffer off its block alignment) a warp per weight row over the bit-exact
  ``dec8_<fmt>`` decoders, f32 accumulation against f32 activations;
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
from typing import Any, ClassVar

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
GV_WARPS = 8  # warps per fast GEMV thread block (gemv_fast.cuh)
GEMV_X_SMEM = 64 << 10
"""Shared memory for x of one fast GEMV block: K is staged in chunks of at most this many bytes."""
SMEM_DEFAULT = 48 << 10  # dynamic shared memory a launch gets without opting in
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
def gemv_params(name: str) -> Params:
    """Parameters of ``quant/gemv.cu``: the format's, ``FAST`` (1: build the fast kernel) and ``KVT``
    (the IQ4_NL / MXFP4 levels as 4 words of int8 + 128 bytes, little endian, from gguf-py)."""
    kvt = "0u, 0u, 0u, 0u"
    kv = _KV_OF.get(name)
    if name in GEMV_FAST and kv is not None:
        from gguf import quants as gq

        vals = [int(v) for v in getattr(gq, kv).kvalues]
        assert len(vals) == 16 and all(-128 <= v < 128 for v in vals), name
        b = np.array([v + 128 for v in vals], np.uint8).view("<u4")
        kvt = ", ".join(f"0x{int(w):08x}u" for w in b)
    return (*format_params(name), ("FAST", int(name in GEMV_FAST)), ("KVT", kvt))


def gemv_align(name: str) -> int:
    """Byte alignment the fast GEMV assumes of every block: that of BB in an aligned buffer (<= 16)."""
    bb = FORMATS[name].block_bytes
    return min(16, bb & -bb)


def gemv_rows(name: str, n: int, mb: int, sms: int) -> int:
    """Weight rows a warp of the fast GEMV (R): the most the format and MB allow that still leave
    two thread blocks per SM; else the fewest."""
    rs = [r for r in GEMV_R[mb] if r <= GEMV_FAST[name]]
    for r in reversed(rs):
        if -(-n // (GV_WARPS * r)) >= 2 * sms:
            return r
    return rs[0]


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
        params = gemv_params(name)
        fast = name in GEMV_FAST and (raw.storage.data.ptr + raw.offset * raw.dtype.itemsize) % gemv_align(name) == 0
        for m0 in range(0, m, 8):
            rows = min(8, m - m0)
            mb = next(b for b in GEMV_MB if b >= rows)
            args = [out[m0 : m0 + rows], x[m0 : m0 + rows], raw, rows, n, k]
            if fast:
                r, kc = gemv_rows(name, n, mb, self.sm_count), gemv_chunk(k, mb)
                grid = -(-n // (GV_WARPS * r))
                self._gemv_launch(f"gemv_{name.lower()}_m{mb}_r{r}", params, grid, [*args, kc], mb * kc * 4)
            else:
                grid = (n + WARPS - 1) // WARPS
                self._launch("cuda/quant/gemv.cu", f"gemv_{name.lower()}_m{mb}", params, grid, 32 * WARPS, args)

    def _gemv_launch(self, entry: str, params: Params, grid: int, args: list[Any], shared: int) -> None:
        """Launch a fast GEMV entry with ``shared`` bytes of dynamic shared memory (opting in above 48 KiB)."""
        rel = "cuda/quant/gemv.cu"
        if shared > SMEM_DEFAULT:
            fn = self.kernels.function(rel, entry, params)
            if _SMEM_SET.get(id(fn), 0) < shared:
                from cupy_backends.cuda.api import driver

                with self._scope():
                    driver.funcSetAttribute(fn.ptr, driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, shared)
                _SMEM_SET[id(fn)] = shared
        self._launch(rel, entry, params, grid, 32 * GV_WARPS, args, shared)

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
    "CudaQuant", "GEMV_FAST", "GEMV_MAX_M", "GEMV_R", "OUT_DTYPES", "QUANTIZE", "TABLES_CUH", "dequant_params",
    "format_params", "gemv_align", "gemv_chunk", "gemv_params", "gemv_rows", "quantize_params", "tables_cuh",
]  # fmt: skip


if __name__ == "__main__":
    from ...kernels.sources import KERNELS_DIR

    (KERNELS_DIR / TABLES_CUH).write_text(tables_cuh())
