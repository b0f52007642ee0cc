"""Shared helpers of the CUDA hooks: storage/C types per dtype, kernel parameters, strided
layouts (coalesced on the host, passed by value) and scalar bit patterns.

Layout struct (``kernels/cuda/common/dtypes.cuh``): ``i64 ndim; i64 shape[16]; i64 st[4][16]``,
element strides of up to 4 operands over one shape, flat index walked row-major.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from ... import dtype as _dt
from ...dtype import DType
from ...errors import InvalidArgument
from ...runtime.cuda.kernels import KernelStruct, Params
from ...tensor import Tensor

MAXD = 16
MAX_OPS = 4

STORAGE_NP: dict[DType, np.dtype] = {d: d.np_dtype for d in _dt.ALL_DTYPES}
STORAGE_NP.update({_dt.bf16: np.dtype(np.uint16), _dt.fp8_e4m3: np.dtype(np.uint8), _dt.fp8_e5m2: np.dtype(np.uint8)})
STORAGE_BY_NAME: dict[str, np.dtype] = {d.name: nd for d, nd in STORAGE_NP.items()}
"""``STORAGE_NP`` keyed by dtype name (a str key hashes in a fraction of a DType's time)."""

CTYPE: dict[DType, str] = {
    _dt.f64: "double", _dt.f32: "float", _dt.f16: "f16_t", _dt.bf16: "bf16_t", _dt.fp8_e4m3: "e4m3_t",
    _dt.fp8_e5m2: "e5m2_t", _dt.i64: "i64", _dt.i32: "int", _dt.i16: "short", _dt.i8: "signed char",
    _dt.u8: "unsigned char", _dt.u32: "unsigned int", _dt.bool_: "bool",
}  # fmt: skip


class CudaHookBase:
    """What the hook mixins use from CudaClient (declared for type checkers; CudaClient defines them)."""

    cp: Any
    kernels: Any
    sm_count: int
    _multi: bool
    _device: Any
    _plans: dict[Any, Any]
    _launch: Callable[..., None]
    _launch_packed: Callable[..., None]
    _launch_flat: Callable[..., None]
    _cp_view: Callable[[Tensor], Any]
    _scope: Callable[[], AbstractContextManager[None]]
    cast: Callable[..., Tensor]


_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_E4M3_MAX = 448.0


_T_PARAMS: dict[DType, Params] = {d: (("T", CTYPE[d]), ("N", d.name), ("ISF", int(d.is_float))) for d in CTYPE}


def t_params(dt: DType) -> Params:
    """Template parameters ``T`` (C type), ``N`` (dtype name), ``ISF`` (is float) for one dtype."""
    return _T_PARAMS[dt]


def acc_ctype(dt: DType) -> str:
    """Float accumulator of a float dtype: double for f64, float otherwise."""
    return "double" if dt is _dt.f64 else "float"


def acc_params(dt: DType) -> Params:
    """``T``, ``N`` and accumulator ``A`` for the row kernels."""
    return (("T", CTYPE[dt]), ("N", dt.name), ("A", acc_ctype(dt)))


def contiguous(*ts: Tensor | None) -> bool:
    for t in ts:
        if t is not None and not t.is_contiguous():
            return False
    return True


def aligned16(*ts: Tensor | None) -> bool:
    """Every tensor's first element sits on a 16-byte boundary."""
    for t in ts:
        if t is not None and (t._storage.data.ptr + t.offset * t.dtype.itemsize) % 16:
            return False
    return True


MAX_PLANS = 4096


def remember(plans: dict[Any, Any], key: Any, value: Any) -> Any:
    """Store a hook's launch plan under ``key`` (the dict is cleared when it holds ``MAX_PLANS``)."""
    if len(plans) >= MAX_PLANS:
        plans.clear()
    plans[key] = value
    return value


def coalesce(shape: Sequence[int], strides: Sequence[Sequence[int]]) -> tuple[list[int], list[list[int]]]:
    """Drop size-1 dims and merge neighbours that are contiguous for every operand."""
    dims = [i for i, n in enumerate(shape) if n != 1]
    out_shape: list[int] = []
    out_st: list[list[int]] = [[] for _ in strides]
    for i in dims:
        n = shape[i]
        if out_shape and all(st[-1] == s[i] * n for st, s in zip(out_st, strides)):
            out_shape[-1] *= n
            for st, s in zip(out_st, strides):
                st[-1] = s[i]
        else:
            out_shape.append(n)
            for st, s in zip(out_st, strides):
                st.append(s[i])
    return out_shape, out_st


def layout(shape: Sequence[int], strides: Sequence[Sequence[int]], merge: bool = True, arg: str = "x") -> KernelStruct:
    """The ``Layout`` struct for ``shape`` with one stride tuple per operand (at most 4)."""
    assert len(strides) <= MAX_OPS
    shp, sts = coalesce(shape, strides) if merge else (list(shape), [list(s) for s in strides])
    if len(shp) > MAXD:
        raise InvalidArgument(arg, f"the CUDA backend supports at most {MAXD} non-mergeable dims, received {len(shp)}")
    buf = np.zeros(1 + MAXD + MAX_OPS * MAXD, dtype=np.int64)
    buf[0] = len(shp)
    buf[1 : 1 + len(shp)] = shp
    for k, st in enumerate(sts):
        base = 1 + MAXD + k * MAXD
        buf[base : base + len(st)] = st
    return KernelStruct(buf)


def scalar_bits(value: bool | int | float, dt: DType) -> int:
    """The bit pattern of ``value`` stored as ``dt``, as a signed int64 for the kernel argument."""
    if dt is _dt.fp8_e4m3 and isinstance(value, float):
        value = float(np.clip(value, -_E4M3_MAX, _E4M3_MAX))
    if dt.is_half:
        arr = np.asarray(np.float32(value)).astype(dt.np_dtype)
    else:
        arr = np.asarray(value).astype(dt.np_dtype)
    bits = int(arr.reshape(1).view(_UINT[dt.itemsize])[0])
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def as_i64(v: int) -> int:
    """An unsigned 64-bit value reinterpreted as int64 (CuPy passes Python ints as int64)."""
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= 1 << 63 else v


def next_pow2(n: int, lo: int = 32, hi: int = 1024) -> int:
    """The power of two >= n, clamped to [lo, hi] (block sizes)."""
    return max(lo, min(hi, 1 << (max(n, 1) - 1).bit_length()))


__all__ = [
    "CTYPE", "CudaHookBase", "MAXD", "MAX_PLANS", "STORAGE_BY_NAME", "STORAGE_NP", "acc_ctype", "acc_params",
    "aligned16", "as_i64", "coalesce", "contiguous", "layout", "next_pow2", "remember", "scalar_bits", "t_params",
]  # fmt: skip
