"""Elementwise ops on every backend: registered cases, semantics edges and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import boostr
from boostr.errors import InvalidArgument, UnsupportedDType
from boostr.testing import assert_close, assert_equal
from boostr.testing.pytest_support import case_params, check_case, check_foreign, foreign_params, raises_arg


@case_params("elementwise")
def test_case(client, case, dt):
    check_case(case, client, dt)


@foreign_params("elementwise")
def test_foreign_client(client, other, case):
    check_foreign(case, client, other)


def _f32(client, arr):
    return client.from_numpy(np.asarray(arr, np.float32))


def test_unsupported_compute_dtype_refused(client):
    """Every dtype a backend stores but does not compute in is refused by arithmetic, never downcast."""
    refused = [d for d in client.storage_dtypes if d not in client.compute_dtypes and d.is_float]
    for d in refused:
        x = client.from_numpy(np.ones(3, np.float32)).cast(d)
        with pytest.raises(UnsupportedDType) as info:
            client.exp(x)
        assert info.value.op == "exp" and info.value.dtype is d
    for d in (d for d in boostr.dtypes.ALL_DTYPES if d not in client.storage_dtypes):
        with pytest.raises(UnsupportedDType):
            client.from_numpy(np.ones(3, d.np_dtype), d)


def test_scalar_promotion(client):
    x = client.from_numpy(np.array([1, 2, 3], np.int32))
    assert client.add(x, 2).dtype is boostr.i32
    assert client.add(x, 2.5).dtype is boostr.f32
    assert_close(client.add(x, 2.5).numpy(), [3.5, 4.5, 5.5], "f32", client.device_name)
    b = client.from_numpy(np.array([True, False]))
    assert client.add(b, True).dtype is client.default_int  # arithmetic on bools runs in the default int
    assert client.eq(b, True).dtype is boostr.bool_
    assert client.mul(b, 3).dtype is client.default_int
    assert client.div(x, 2).dtype is boostr.f32
    assert_equal(client.div(x, 2).numpy(), np.array([0.5, 1.0, 1.5], np.float32))


def test_operators_delegate(client):
    a = _f32(client, [[1.0, 2.0], [3.0, 4.0]])
    b = _f32(client, [0.5, -1.0])
    assert_close((a + b).numpy(), [[1.5, 1.0], [3.5, 3.0]], "f32", client.device_name)
    assert_close((2 - a).numpy(), [[1, 0], [-1, -2]], "f32", client.device_name)
    assert_close((a / b).numpy(), [[2, -2], [6, -4]], "f32", client.device_name)
    assert_close((a**2).numpy(), [[1, 4], [9, 16]], "f32", client.device_name)
    assert_close((-a).numpy(), [[-1, -2], [-3, -4]], "f32", client.device_name)
    assert_equal((a > 2).numpy(), np.array([[False, False], [True, True]]))
    assert_equal(((a > 1) & (a < 4)).numpy(), np.array([[False, True], [True, False]]))


def test_int_pow_negative_exponent_refused(client):
    x = client.from_numpy(np.array([1, 2], np.int32))
    raises_arg(lambda: client.pow(x, -1), "b")


def test_round_half_to_even(client):
    x = _f32(client, [0.5, 1.5, 2.5, -0.5, -1.5, 3.49])
    assert_equal(client.round(x).numpy(), np.array([0.0, 2.0, 2.0, -0.0, -2.0, 3.0], np.float32))


def test_sqrt_log_of_negative_and_zero(client):
    x = _f32(client, [-1.0, 0.0, math.inf])
    s = client.sqrt(x).numpy()
    assert math.isnan(s[0]) and s[1] == 0.0 and s[2] == math.inf
    lg = client.log(x).numpy()
    assert math.isnan(lg[0]) and lg[1] == -math.inf and lg[2] == math.inf


def test_float_unary_on_int_gives_f32(client):
    x = client.from_numpy(np.array([1, 4, 9], np.int32))
    y = client.sqrt(x)
    assert y.dtype is boostr.f32
    assert_close(y.numpy(), [1, 2, 3], "f32", client.device_name)
    assert client.floor(x).dtype is boostr.i32


def test_cast_identity_returns_same(client):
    x = _f32(client, [1.0])
    assert client.cast(x, "f32") is x


@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        (lambda c, x, i, b: c.add(x, c.from_numpy(np.ones((4, 3), np.float32))), "b"),
        (lambda c, x, i, b: c.add(x, "1"), "b"),
        (lambda c, x, i, b: c.add("1", x), "a"),
        (lambda c, x, i, b: c.binary("nope", x, x), "op"),
        (lambda c, x, i, b: c.neg(c.cast(i, "u32")), "x"),
        (lambda c, x, i, b: c.abs(b), "x"),
        (lambda c, x, i, b: c.gelu(x, approximate="fast"), "approximate"),
        (lambda c, x, i, b: c.where(b, x, c.from_numpy(np.ones((4, 3), np.float32))), "b"),
        (lambda c, x, i, b: c.masked_fill(x, c.cast(b, "f32"), 0.0), "mask"),
        (lambda c, x, i, b: c.masked_fill(x, c.from_numpy(np.ones((3, 1), bool)), 0.0), "mask"),
        (lambda c, x, i, b: c.clamp(x), "min"),
        (lambda c, x, i, b: c.fma(i, i, i), "a"),
        (lambda c, x, i, b: c.fma(x, x, c.from_numpy(np.ones((2, 2), np.float32))), "c"),
        (lambda c, x, i, b: c.cast(x, "f128"), "dtype"),
        (lambda c, x, i, b: c.exp(np.ones(3)), "x"),
    ],
    ids=["shape-mismatch", "str-b", "str-a", "bad-op", "neg-unsigned", "abs-bool", "gelu-mode", "where-shape",
         "mask-dtype", "mask-shape", "clamp-no-bounds", "fma-int", "fma-shape", "cast-unknown", "numpy-input"],
)  # fmt: skip
def test_bad_input(client, fn, arg):
    x = _f32(client, np.ones((2, 3)))
    i = client.from_numpy(np.ones((2, 3), np.int32))
    b = client.from_numpy(np.ones((2, 3), bool))
    raises_arg(lambda: fn(client, x, i, b), arg)


def test_clamp_tensor_bounds_are_named(client):
    """A bad tensor bound is reported under its own name (min/max), not an internal operand name."""
    x = _f32(client, np.ones((2, 3)))
    raises_arg(lambda: client.clamp(x, min=_f32(client, np.ones((4, 3)))), "min")
    raises_arg(lambda: client.clamp(x, max=_f32(client, np.ones((4, 3)))), "max")


def test_invalid_argument_is_value_error(client):
    with pytest.raises(ValueError):
        client.add(_f32(client, np.ones(3)), _f32(client, np.ones(4)))
    assert issubclass(InvalidArgument, ValueError)
