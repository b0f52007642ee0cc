"""Factories on every backend: cases over every dtype, shapes, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boostr.errors import UnsupportedDType
from boostr.testing.pytest_support import case_params, check_case, check_foreign, foreign_params, raises_arg


@case_params("creation")
def test_case(client, case, dt):
    check_case(case, client, dt)


@foreign_params("creation")
def test_foreign_client(client, other, case):
    """``*_like`` factories validate their template tensor like every other op."""
    check_foreign(case, client, other)


def test_empty_shape_dtype_and_device(client):
    x = client.empty(3, 0, 2)
    assert x.shape == (3, 0, 2) and x.dtype.name == "f32" and x.client is client
    assert client.empty((2, 5), dtype="f32").shape == (2, 5)
    assert client.empty().shape == ()


def test_default_dtypes(client):
    assert client.arange(5).dtype is client.default_int
    assert client.arange(0.0, 1.0, 0.5).dtype.name == "f32"
    assert client.full((2,), 1.5).dtype.name == "f32"
    assert client.full((2,), 3).dtype is client.default_int
    assert client.full((2,), True).dtype.name == "bool"
    assert client.zeros(2).dtype.name == "f32"


def test_arange_lengths(client):
    assert client.arange(0, 10, 3).shape == (4,)
    assert client.arange(5, 5).shape == (0,)
    assert client.arange(5, 0).shape == (0,)
    assert client.linspace(0, 1, 0).shape == (0,)


def test_eye_rectangular_and_like(client):
    np.testing.assert_array_equal(client.eye(3, 2).numpy(), np.eye(3, 2))
    x = client.from_numpy(np.zeros((2, 3), np.int32))
    y = client.ones_like(x)
    assert y.dtype.name == "i32" and y.shape == (2, 3)
    assert client.empty_like(x, dtype="f32").dtype.name == "f32"


def test_unknown_and_unsupported_dtypes(client):
    raises_arg(lambda: client.zeros(2, dtype="complex64"), "dtype")
    import boostr

    for d in boostr.dtypes.ALL_DTYPES:
        if d not in client.storage_dtypes:
            with pytest.raises(UnsupportedDType):
                client.zeros(2, dtype=d)


@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        (lambda c: c.zeros(-1, 2), "shape"),
        (lambda c: c.zeros(2.5), "shape"),
        (lambda c: c.full((2,), "x"), "value"),
        (lambda c: c.arange(0, 5, 0), "step"),
        (lambda c: c.arange(0, math.inf), "end"),
        (lambda c: c.arange(True, 5), "start"),
        (lambda c: c.linspace(0, 1, -1), "steps"),
        (lambda c: c.empty(2, 3).reshape(4, 2), "shape"),
    ],
    ids=["negative", "float-size", "value-str", "step-0", "end-inf", "start-bool", "steps-negative", "reshape"],
)
def test_bad_input(client, fn, arg):
    raises_arg(lambda: fn(client), arg)
