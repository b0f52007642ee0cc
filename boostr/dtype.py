"""Data types and promotion.

DTypes: f64, f32, f16, bf16, fp8_e4m3, fp8_e5m2, i64, i32, i16, i8, u8, u32, bool.

Promotion (``promote_types(a, b)``), the rule every binary op follows:

1. bool < integers < floats: the result has the higher category.
2. Two floats: the wider one (f64 > f32 > f16/bf16 > fp8); f16 with bf16 gives
   f32 (neither holds the other); two different fp8 types give f16 (it holds both).
3. Two integers: the wider one when signedness matches; mixed signedness gives the
   smallest signed type that holds both (u8+i8 -> i16, u32+i32 -> i64).
4. An integer with a float gives the float.

Python scalars take part by category only (``result_type(x, 2.0)``): an int scalar
keeps an integer or float tensor's dtype (bool tensors become the default int), a
float scalar keeps a float tensor's dtype and turns bool/int tensors into f32.

Half and 8-bit float types are computed with f32 accumulation on every backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ml_dtypes
import numpy as np

from .errors import InvalidArgument


@dataclass(frozen=True)
class DType:
    """A boostr element type. Compare with ``is``/``==``; look up with ``dtype()``."""

    name: str
    itemsize: int
    kind: str  # "f" float, "i" signed int, "u" unsigned int, "b" bool
    rank: int  # ordering inside a kind
    np_dtype: Any

    # Identity of a dtype is its name (the other fields follow from it): hashing the name alone keeps
    # the dict / set lookups of every op's hot path cheap (the generated hash built a tuple holding
    # the numpy dtype: ~2x slower).
    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, DType) and self.name == other.name)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"boostr.{self.name}"

    __str__ = __repr__

    @property
    def is_float(self) -> bool:
        return self.kind == "f"

    @property
    def is_int(self) -> bool:
        return self.kind in ("i", "u")

    @property
    def is_signed(self) -> bool:
        return self.kind in ("i", "f")

    @property
    def is_half(self) -> bool:
        """f16, bf16 and fp8: storage types computed in f32."""
        return self.kind == "f" and self.itemsize < 4

    @property
    def is_fp8(self) -> bool:
        return self.kind == "f" and self.itemsize == 1


float64 = DType("f64", 8, "f", 4, np.dtype(np.float64))
float32 = DType("f32", 4, "f", 3, np.dtype(np.float32))
float16 = DType("f16", 2, "f", 2, np.dtype(np.float16))
bfloat16 = DType("bf16", 2, "f", 2, np.dtype(ml_dtypes.bfloat16))
float8_e4m3 = DType("fp8_e4m3", 1, "f", 1, np.dtype(ml_dtypes.float8_e4m3fn))
float8_e5m2 = DType("fp8_e5m2", 1, "f", 1, np.dtype(ml_dtypes.float8_e5m2))
int64 = DType("i64", 8, "i", 4, np.dtype(np.int64))
int32 = DType("i32", 4, "i", 3, np.dtype(np.int32))
int16 = DType("i16", 2, "i", 2, np.dtype(np.int16))
int8 = DType("i8", 1, "i", 1, np.dtype(np.int8))
uint8 = DType("u8", 1, "u", 1, np.dtype(np.uint8))
uint32 = DType("u32", 4, "u", 3, np.dtype(np.uint32))
bool_ = DType("bool", 1, "b", 0, np.dtype(np.bool_))

# short aliases
f64, f32, f16, bf16 = float64, float32, float16, bfloat16
fp8_e4m3, fp8_e5m2 = float8_e4m3, float8_e5m2
i64, i32, i16, i8, u8, u32 = int64, int32, int16, int8, uint8, uint32

ALL_DTYPES: tuple[DType, ...] = (f64, f32, f16, bf16, fp8_e4m3, fp8_e5m2, i64, i32, i16, i8, u8, u32, bool_)
FLOAT_DTYPES = tuple(d for d in ALL_DTYPES if d.is_float)
INT_DTYPES = tuple(d for d in ALL_DTYPES if d.is_int)

_BY_NAME: dict[str, DType] = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update(
    {
        "float64": f64, "float32": f32, "float16": f16, "half": f16, "bfloat16": bf16,
        "float8_e4m3": fp8_e4m3, "float8_e4m3fn": fp8_e4m3, "float8_e5m2": fp8_e5m2,
        "int64": i64, "int32": i32, "int16": i16, "int8": i8, "uint8": u8, "uint32": u32,
        "bool_": bool_, "double": f64, "float": f32, "long": i64, "int": i32,
    }
)  # fmt: skip
_BY_NP: dict[np.dtype, DType] = {d.np_dtype: d for d in ALL_DTYPES}


def dtype(x: Any) -> DType:
    """Return the DType for a DType, a name ("f32", "bfloat16"), or a numpy dtype."""
    if isinstance(x, DType):
        return x
    if isinstance(x, str) and x in _BY_NAME:
        return _BY_NAME[x]
    if x is bool:
        return bool_
    if x is int:
        return i64
    if x is float:
        return f32
    try:
        nd = np.dtype(x)
    except TypeError:
        nd = None
    if nd is not None and nd in _BY_NP:
        return _BY_NP[nd]
    raise InvalidArgument("dtype", f"expected one of {sorted(d.name for d in ALL_DTYPES)}, received {x!r}")


def from_numpy_dtype(nd: np.dtype) -> DType:
    """The DType of a numpy dtype, or InvalidArgument if boostr has none."""
    if nd in _BY_NP:
        return _BY_NP[nd]
    raise InvalidArgument("array", f"numpy dtype {nd} has no boostr dtype (supported: {[d.name for d in ALL_DTYPES]})")


def promote_types(a: DType, b: DType) -> DType:
    """The dtype of a binary op on tensors of dtypes ``a`` and ``b`` (see module doc)."""
    if a is b:
        return a
    cat = {"b": 0, "u": 1, "i": 1, "f": 2}
    ca, cb = cat[a.kind], cat[b.kind]
    if ca != cb:
        return a if ca > cb else b
    if a.kind == "f":
        if a.rank != b.rank:
            return a if a.rank > b.rank else b
        return f32 if a.itemsize == 2 else f16
    if a.kind == b.kind:
        return a if a.rank >= b.rank else b
    s, u = (a, b) if a.kind == "i" else (b, a)
    if s.itemsize > u.itemsize:
        return s
    for cand in (i16, i32, i64):
        if cand.itemsize > u.itemsize:
            return cand
    return i64


def result_type(a: DType, scalar: object, default_int: DType = i64) -> DType:
    """The dtype of a binary op between a tensor of dtype ``a`` and a Python scalar."""
    if isinstance(scalar, bool):
        return a
    if isinstance(scalar, int):
        return default_int if a.kind == "b" else a
    if isinstance(scalar, float):
        return a if a.is_float else f32
    raise InvalidArgument("other", f"expected a Tensor or a Python bool/int/float, received {type(scalar).__name__}")
