"""DType lookup and the promotion table of boostr.dtype."""

from __future__ import annotations

import itertools

import ml_dtypes
import numpy as np
import pytest

import boostr.dtype as D  # noqa: N812 - short name for the table
from boostr.errors import InvalidArgument


@pytest.mark.parametrize(
    ("a", "b", "want"),
    [
        (D.u8, D.i8, D.i16), (D.u32, D.i32, D.i64), (D.u8, D.i16, D.i16), (D.u8, D.i32, D.i32), (D.u32, D.i64, D.i64),
        (D.i8, D.i16, D.i16), (D.i32, D.i64, D.i64), (D.u8, D.u32, D.u32), (D.u32, D.i8, D.i64),
        (D.f16, D.bf16, D.f32), (D.fp8_e4m3, D.fp8_e5m2, D.f16), (D.f16, D.f32, D.f32), (D.bf16, D.f64, D.f64),
        (D.fp8_e4m3, D.bf16, D.bf16), (D.i64, D.f16, D.f16), (D.u8, D.bf16, D.bf16), (D.bool_, D.u8, D.u8),
        (D.bool_, D.f32, D.f32), (D.bool_, D.bool_, D.bool_), (D.i32, D.i32, D.i32),
    ],
)  # fmt: skip
def test_promotion_table(a, b, want):
    assert D.promote_types(a, b) is want
    assert D.promote_types(b, a) is want


def test_promotion_is_commutative_and_closed():
    for a, b in itertools.product(D.ALL_DTYPES, repeat=2):
        r = D.promote_types(a, b)
        assert r is D.promote_types(b, a)
        assert r in D.ALL_DTYPES
        assert D.promote_types(r, a) is r and D.promote_types(r, b) is r


@pytest.mark.parametrize(
    ("t", "scalar", "want"),
    [
        (D.i32, 2, D.i32), (D.i32, 2.0, D.f32), (D.u8, 300, D.u8), (D.f16, 2, D.f16), (D.f16, 2.5, D.f16),
        (D.bf16, 1.0, D.bf16), (D.bool_, 1, D.i64), (D.bool_, 1.0, D.f32), (D.bool_, True, D.bool_),
        (D.f64, 1, D.f64), (D.i8, True, D.i8),
    ],
)  # fmt: skip
def test_scalar_result_type(t, scalar, want):
    assert D.result_type(t, scalar) is want


def test_scalar_result_type_default_int_and_errors():
    assert D.result_type(D.bool_, 3, default_int=D.i32) is D.i32
    with pytest.raises(InvalidArgument):
        D.result_type(D.f32, "2")


@pytest.mark.parametrize(
    ("name", "want"),
    [("f32", D.f32), ("float32", D.f32), ("half", D.f16), ("bfloat16", D.bf16), ("float8_e4m3fn", D.fp8_e4m3),
     ("uint8", D.u8), ("bool", D.bool_), (np.float64, D.f64), (np.dtype("int16"), D.i16), (bool, D.bool_),
     (float, D.f32), (ml_dtypes.bfloat16, D.bf16)],
)  # fmt: skip
def test_dtype_lookup(name, want):
    assert D.dtype(name) is want


def test_dtype_lookup_errors():
    for bad in ("f128", np.complex64, "int4"):
        with pytest.raises(InvalidArgument) as e:
            D.dtype(bad)
        assert e.value.arg == "dtype"
    with pytest.raises(InvalidArgument):
        D.from_numpy_dtype(np.dtype(np.complex128))


def test_dtype_properties():
    assert D.f16.is_half and D.bf16.is_half and D.fp8_e5m2.is_half and not D.f32.is_half
    assert D.fp8_e4m3.is_fp8 and not D.f16.is_fp8
    assert D.u32.is_int and not D.u32.is_signed and D.i8.is_signed and D.f32.is_signed
    assert not D.bool_.is_int and not D.bool_.is_float
    sizes = [d.itemsize for d in (D.f64, D.f32, D.f16, D.bf16, D.fp8_e4m3, D.i64, D.u8, D.bool_)]
    assert sizes == [8, 4, 2, 2, 1, 8, 1, 1]
    assert repr(D.f32) == "boostr.f32"
    for d in D.ALL_DTYPES:
        assert np.dtype(d.np_dtype).itemsize == d.itemsize
        assert D.from_numpy_dtype(d.np_dtype) is d
