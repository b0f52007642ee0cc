"""sort, argsort and topk on every backend: stability, NaN order, k edges, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boostr.testing.pytest_support import case_params, check_case, check_foreign, foreign_params, raises_arg


@case_params("sort")
def test_case(client, case, dt):
    check_case(case, client, dt)


@foreign_params("sort")
def test_foreign_client(client, other, case):
    check_foreign(case, client, other)


def test_stable_ties_and_nan_largest(client):
    x = client.from_numpy(np.array([2.0, math.nan, 1.0, 2.0, 1.0], np.float32))
    v, i = client.sort(x)
    np.testing.assert_array_equal(i.numpy(), [2, 4, 0, 3, 1])
    assert math.isnan(v.numpy()[-1])
    v, i = client.sort(x, descending=True)
    np.testing.assert_array_equal(i.numpy(), [1, 0, 3, 2, 4])
    v, i = client.topk(x, 2, largest=True)
    np.testing.assert_array_equal(i.numpy(), [1, 0])
    v, i = client.topk(x, 2, largest=False)
    np.testing.assert_array_equal(i.numpy(), [2, 4])
    assert i.dtype is client.default_int


@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        (lambda c, x: c.topk(x, 4), "k"),
        (lambda c, x: c.topk(x, -1), "k"),
        (lambda c, x: c.topk(x, 1.5), "k"),
        (lambda c, x: c.topk(c.from_numpy(np.float32(1)), 1), "x"),
        (lambda c, x: c.topk(x, 1, dim=2), "dim"),
        (lambda c, x: c.sort(x, 2), "dim"),
        (lambda c, x: c.argsort(x, -3), "dim"),
        (lambda c, x: c.sort(x.numpy()), "x"),
    ],
    ids=["k-too-big", "k-negative", "k-float", "topk-0d", "topk-dim", "sort-dim", "argsort-dim", "numpy-input"],
)
def test_bad_input(client, fn, arg):
    x = client.from_numpy(np.ones((2, 3), np.float32))
    raises_arg(lambda: fn(client, x), arg)
