"""CUDA flash attention: FlashAttention-2 forward on tensor cores (f16/bf16, D 64/128), a SIMT forward
for every other (dtype, head dim), flash decoding for Sq == 1 and a SIMT FA2 backward.

Kernels (``kernels/cuda/attention``): ``flash_fwd_tc.cu`` (mma.sync m16n8k16 + ldmatrix, cp.async
double-buffered K/V), ``flash_fwd.cu`` (SIMT forward), ``flash_decode_tc.cu`` (f16/bf16 split-K decode
partials on tensor cores, one CTA per (batch, KV head, split) serving the whole query group),
``flash_decode.cu`` (SIMT f32 decode partials + the log-sum-exp combine), ``flash_bwd_tc.cu`` (f16/bf16,
D 64/128: delta, dq, dk/dv passes on tensor cores) and ``flash_bwd.cu`` (the SIMT backward of every other
(dtype, head dim)).
f64 runs the generic composite (as on the CPU). Inputs whose last dim is strided, or whose rows are not
16-byte aligned on the tensor-core path, are copied once; every other view is read in place.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ... import dtype as _dt
from ...runtime.cuda.kernels import KernelStruct, Params
from ...tensor import Tensor
from ..generic import attention as _gen
from ..generic import attention_bwd as _gen_bwd
from ..generic.attention_mask import AttnSpec
from ..traits.attention import AttentionOps
from ._util import CudaHookBase, t_params

FUSED = (_dt.f32, _dt.f16, _dt.bf16)
TC_DIMS = (64, 128)
TC_BM, TC_BN, SIMT_BM, SIMT_BN, NW = 64, 64, 16, 32, 4
TC_BWD_BLOCK, SIMT_BWD_BLOCK = 64, 16  # backward query / key block rows (flash_bwd_tc.cu, flash_bwd.cu)
SMEM_DEFAULT = 48 * 1024
_SMEM_SET: dict[int, int] = {}


def tc_params(dt: _dt.DType) -> tuple[tuple[str, object], ...]:
    return (("N", dt.name), ("BF", int(dt is _dt.bf16)))


def launch_smem(c: Any, rel: str, entry: str, params: Any, grid: Any, block: int, args: list[Any], shared: int) -> None:
    """Launch with ``shared`` bytes of dynamic shared memory, opting in above 48 KiB once per function."""
    if shared > SMEM_DEFAULT:
        fn = c.kernels.function(rel, entry, params)
        if _SMEM_SET.get(id(fn), 0) < shared:
            from cupy_backends.cuda.api import driver

            with c._scope():
                driver.funcSetAttribute(fn.ptr, driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, shared)
            _SMEM_SET[id(fn)] = shared
    c._launch(rel, entry, params, grid, block, args, shared)


def _ptr(t: Tensor) -> int:
    return int(t.storage.data.ptr + t.offset * t.dtype.itemsize)


def dense_last(c: Any, t: Tensor) -> Tensor:
    """``t`` with a unit last-dim stride (a copy only when it is strided)."""
    return t if t.shape[-1] <= 1 or t.strides[-1] == 1 else c.copy(t)


def rows16(c: Any, t: Tensor) -> Tensor:
    """``t`` with d contiguous and every row on a 16-byte boundary (tensor-core cp.async loads)."""
    t = dense_last(c, t)
    el = 16 // t.dtype.itemsize
    if _ptr(t) % 16 or any(s % el for s in t.strides[:-1]):
        t = c.copy(t)
    return t


def vec_ok(d: int, itemsize: int, tensors: list[Tensor], strides: list[int]) -> bool:
    """Lane spans of ``d / 32`` elements can be read as one 8- or 16-byte vector (attn_common.cuh)."""
    if d % 32:
        return False
    e = d // 32
    nbytes = e * itemsize
    if nbytes not in (8, 16):
        return False
    return all(_ptr(t) % nbytes == 0 for t in tensors) and all(s % e == 0 for s in strides)


class BwdPlan(NamedTuple):
    """How the backward of one (dtype, head dim) runs: kernel file, entry infix, blocks, shared memory."""

    rel: str  # kernels/cuda/attention/<stem>_bwd[_tc].cu
    params: Params
    tc: str  # entry infix: "_tc" on tensor cores (bwd_dq_tc128_bf16), "" on the SIMT kernels (bwd_dq128_f32)
    qb: int  # dq: query rows per CTA
    kb: int  # dk/dv: keys per CTA
    dq_smem: int
    dkdv_smem: int


def bwd_plan(stem: str, dt: _dt.DType, d: int) -> BwdPlan:
    """The backward kernels of ``stem`` (``flash``, ``alibi`` or ``varlen``) for ``dt`` and head dim ``d``:
    tensor cores (``<stem>_bwd_tc.cu``: 64-row blocks, [rows][d + 8] half tiles) for f16/bf16 at D 64/128,
    else the SIMT ``<stem>_bwd.cu`` (16-row blocks, f32 tiles)."""
    if dt in DEC_TC and d in TC_DIMS:
        tiles = 6 * TC_BWD_BLOCK * (d + 8) * 2  # dq: Q, dout, 2 x (K, V); dk/dv: K, V, 2 x (Q, dout)
        return BwdPlan(f"cuda/attention/{stem}_bwd_tc.cu", tc_params(dt), "_tc", TC_BWD_BLOCK, TC_BWD_BLOCK, tiles,
                       tiles + 4 * TC_BWD_BLOCK * 4)  # fmt: skip
    return BwdPlan(f"cuda/attention/{stem}_bwd.cu", t_params(dt), "", SIMT_BWD_BLOCK, SIMT_BWD_BLOCK,
                   (2 * 16 * d + 2 * 32 * (d + 1)) * 4, (4 * 16 * (d + 1) + 2 * 16 * 17 + 32) * 4)  # fmt: skip


def bwd_inputs(c: Any, plan: BwdPlan, ts: tuple[Tensor, ...]) -> list[Tensor]:
    """The backward's tensor inputs laid out for ``plan``: 16-byte aligned rows on tensor cores, d contiguous."""
    return [rows16(c, t) if plan.tc else dense_last(c, t) for t in ts]


DEC_TC = (_dt.f16, _dt.bf16)  # tensor-core decode (flash_decode_tc.cu); f32 runs the SIMT flash_decode.cu
DEC_TC_ROWS, DEC_TC_KEYS, DEC_TC_PER_SM = 16, NW * 16, 8  # rows per CTA, keys per CTA sweep, CTAs per SM


def decode_rmax(d: int, dt: _dt.DType | None = None) -> int:
    """Query rows one decode CTA serves (the row-group size: 16 on tensor cores, one m16 tile)."""
    if dt in DEC_TC:
        return DEC_TC_ROWS
    return 8 if d <= 128 else 4


def decode_splits(c: Any, keys: int, ctas: int, align: int = 1, per_sm: int = 8) -> tuple[int, int]:
    """(splits, chunk) for ``keys`` keys over ``ctas`` CTAs per split: about ``per_sm`` CTAs per SM in all,
    >= 64 keys each, ``chunk`` a multiple of ``align``."""
    splits = max(1, min(-(-keys // 64), -(-per_sm * c.sm_count // max(1, ctas))))
    chunk = -(-max(1, -(-keys // splits)) // align) * align
    return max(1, -(-keys // chunk)), chunk


def decode_tc_smem(d: int, rows: int) -> int:
    """Dynamic shared memory of a tensor-core decode CTA serving ``rows`` rows (flash_decode_tc.cu)."""
    return (d // 16) * 32 * 16 + 4 * (NW * rows * (d + 4) + 2 * NW * DEC_TC_ROWS)


def run_combine(
    c: Any, out: Tensor, lse: Tensor | None, pm: Any, pl: Any, pacc: Any, rows: int, np_: int, d: int
) -> None:
    """Merge the split partials of every row into ``out`` (and ``lse`` unless None); ``d <= 256``."""
    assert d <= 256
    c._launch("cuda/attention/flash_decode.cu", f"flash_decode_combine_{out.dtype.name}", t_params(out.dtype), rows,
              128, [out, lse, pm.data.ptr, pl.data.ptr, pacc.data.ptr, np_, d])  # fmt: skip


def scratch(c: Any, rows: int, np_: int, d: int) -> tuple[Any, Any, Any]:
    """f32 partial buffers (m, l, acc) for ``rows`` rows of ``np_`` splits (CuPy pool, stream-ordered)."""
    cp = c.cp
    with c._scope():
        return (cp.empty(rows * np_, dtype=np.float32), cp.empty(rows * np_, dtype=np.float32),
                cp.empty(rows * np_ * d, dtype=np.float32))  # fmt: skip


class CudaAttention(AttentionOps, CudaHookBase):
    """Overrides of the attention trait hooks (subclassing the trait keeps this mixin ahead of it)."""

    def _flash_attention_fwd(self, q: Tensor, k: Tensor, v: Tensor, spec: AttnSpec) -> tuple[Tensor, Tensor]:
        dt = q.dtype
        if dt not in FUSED:
            return _gen.flash_attention_fwd(self, q, k, v, spec)
        b, h, sq, d = q.shape
        out = self._new((b, h, sq, d), dt)
        lse = self._new((b, h, sq), _dt.f32)
        if b * h * sq == 0:
            return out, lse
        if sq == 1:
            self._cuda_decode(q, k, v, spec, out, lse)
            return out, lse
        hkv, sk = k.shape[1], k.shape[2]
        lim = int(spec.limited)
        if dt is not _dt.f32 and d in TC_DIMS:
            q, k, v = rows16(self, q), rows16(self, k), rows16(self, v)
            grid = (-(-sq // TC_BM), h, b)
            shared = (TC_BM + 4 * TC_BN) * (d + 8) * 2
            rel, entry, params = "cuda/attention/flash_fwd_tc.cu", f"flash_fwd_tc{d}_{dt.name}", tc_params(dt)
        else:
            q, k, v = dense_last(self, q), dense_last(self, k), dense_last(self, v)
            grid = (-(-sq // SIMT_BM), h, b)
            shared = (SIMT_BM * d + SIMT_BN * (d + 1) + SIMT_BN * d) * 4
            rel, entry, params = "cuda/attention/flash_fwd.cu", f"flash_fwd_simt{d}_{dt.name}", t_params(dt)
        args = [out, lse, q, k, v, h, hkv, sq]
        if rel.endswith("_tc.cu"):
            args.append(sk)
        args += [*q.strides[:3], *k.strides[:3], *v.strides[:3], float(spec.scale), spec.kv_len, spec.window, lim]
        launch_smem(self, rel, entry, params, grid, NW * 32, args, shared)
        return out, lse

    def _cuda_decode(self, q: Tensor, k: Tensor, v: Tensor, spec: AttnSpec, out: Tensor, lse: Tensor) -> None:
        """Flash decoding of ``q [B, H, 1, D]`` (``run_decode``)."""
        run_decode(self, q, k, v, spec, out, lse)

    def _flash_attention_bwd(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, spec: AttnSpec
    ) -> tuple[Tensor, Tensor, Tensor]:
        return run_bwd(self, dout, q, k, v, out, lse, spec)


def run_decode(
    c: Any, q: Tensor, k: Tensor, v: Tensor, spec: AttnSpec, out: Tensor, lse: Tensor, slopes: Tensor | None = None
) -> None:
    """Flash decoding of ``q [B, H, 1, D]`` over ``k/v [B, Hkv, Sk, D]`` into ``out [B, H, 1, D]`` and
    ``lse [B, H, 1]``: split-K partials over the visible keys, then the log-sum-exp combine. With ``slopes``
    ([H] f32 contiguous: ALiBi) the ``alibi_decode`` entries run, the same bodies with the bias, the query at
    position ``kv_len - 1``."""
    b, h, _, d = q.shape
    hkv, dt = k.shape[1], q.dtype
    tc = dt in DEC_TC
    q, k, v = (rows16(c, t) if tc else dense_last(c, t) for t in (q, k, v))
    if k.strides != v.strides:
        k, v = c.copy(k), c.copy(v)
    jlo, jhi = spec.key_range(0, 1, 1)
    n = max(0, jhi - jlo)
    g = h // hkv
    rg = -(-g // decode_rmax(d, dt))
    rows = b * h
    name = "flash" if slopes is None else "alibi"
    head = [q, k, v, h, hkv, q.strides[0], q.strides[1], *k.strides[:3], jlo, jhi]
    bias: list[Any] = [] if slopes is None else [slopes, spec.kv_len - 1]
    if tc:
        splits, chunk = decode_splits(c, n, b * hkv * rg, DEC_TC_KEYS, DEC_TC_PER_SM)
        pm, pl, pacc = scratch(c, rows, splits, d)
        args = [pm.data.ptr, pl.data.ptr, pacc.data.ptr, *head, chunk, float(spec.scale), *bias]
        launch_smem(c, f"cuda/attention/{name}_decode_tc.cu", f"{name}_decode_tc{d}_{dt.name}", tc_params(dt),
                    (hkv * rg, splits, b), NW * 32, args, decode_tc_smem(d, min(g, DEC_TC_ROWS)))  # fmt: skip
        run_combine(c, out, lse, pm, pl, pacc, rows, splits, d)
        return
    splits, chunk = decode_splits(c, n, b * hkv * rg)
    np_ = splits * NW
    pm, pl, pacc = scratch(c, rows, np_, d)
    vec = vec_ok(d, dt.itemsize, [q, k, v], [*q.strides[:2], *k.strides[:3]])
    args = [pm.data.ptr, pl.data.ptr, pacc.data.ptr, *head, chunk, float(spec.scale), int(vec), *bias]
    c._launch(f"cuda/attention/{name}_decode.cu", f"{name}_decode{d}_{dt.name}", t_params(dt), (splits, hkv * rg, b),
              NW * 32, args)  # fmt: skip
    run_combine(c, out, lse, pm, pl, pacc, rows, np_, d)


def run_bwd(
    c: Any, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, spec: AttnSpec,
    slopes: Tensor | None = None, slopes_f32: Any = None,
) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """FlashAttention-2 backward (delta, dq, dk/dv passes; layouts as ``flash_attention_bwd``): the
    tensor-core or SIMT kernels of ``bwd_plan``; with ALiBi ``slopes`` [H] the ``alibi_`` entries, which take
    ``slopes_f32(c, slopes)`` as their last argument."""
    dt = q.dtype
    if dt not in FUSED:
        extra = () if slopes is None else (slopes,)
        return _gen_bwd.flash_attention_bwd(c, dout, q, k, v, out, lse, spec, *extra)  # type: ignore[no-any-return]
    b, h, sq, d = q.shape
    hkv, sk = k.shape[1], k.shape[2]
    dq, dk, dv = c._new(q.shape, dt), c._new(k.shape, dt), c._new(k.shape, dt)
    if b * h == 0:
        return dq, dk, dv
    bias: list[Any] = [] if slopes is None else [slopes_f32(c, slopes)]
    pre = "" if slopes is None else "alibi_"
    plan = bwd_plan("flash" if slopes is None else "alibi", dt, d)
    q, k, v, dout, out = bwd_inputs(c, plan, (q, k, v, dout, out))
    lse = (lse if lse.dtype is _dt.f32 else c.cast(lse, _dt.f32)).contiguous()
    rel, params, tc = plan.rel, plan.params, plan.tc
    rows = b * h * sq
    delta = c._new((b, h, sq), _dt.f32)
    if rows:
        c._launch(rel, f"bwd_delta{tc}_{dt.name}", params, -(-rows // 4), 128,
                  [delta, dout, out, h, sq, d, *dout.strides[:3], *out.strides[:3], rows])  # fmt: skip
    st = KernelStruct(np.array([*q.strides[:3], *dout.strides[:3], *k.strides[:3], *v.strides[:3]], np.int64))
    opts = [float(spec.scale), spec.kv_len, spec.window, int(spec.limited), *bias]
    lens = [sq, sk] if tc else [sq]
    if rows:
        launch_smem(c, rel, f"{pre}bwd_dq{tc}{d}_{dt.name}", params, (-(-sq // plan.qb), h, b), 128,
                    [dq, q, k, v, dout, lse, delta, h, hkv, *lens, st, *opts], plan.dq_smem)  # fmt: skip
    if sk:
        launch_smem(c, rel, f"{pre}bwd_dkdv{tc}{d}_{dt.name}", params, (-(-sk // plan.kb), hkv, b), 128,
                    [dk, dv, q, k, v, dout, lse, delta, h, hkv, sq, sk, st, *opts], plan.dkdv_smem)  # fmt: skip
    return dq, dk, dv


__all__ = [
    "CudaAttention", "launch_smem", "scratch", "run_combine", "decode_splits", "decode_rmax", "decode_tc_smem",
    "vec_ok", "rows16", "bwd_plan", "bwd_inputs", "BwdPlan", "run_bwd", "run_decode", "DEC_TC", "DEC_TC_KEYS",
    "DEC_TC_PER_SM", "DEC_TC_ROWS",
]  # fmt: skip
