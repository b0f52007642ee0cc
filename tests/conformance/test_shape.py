"""Copying shape ops on every backend: cases, views of the results and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from boostr.testing.pytest_support import case_params, check_case, check_foreign, foreign_params, raises_arg


@case_params("shape")
def test_case(client, case, dt):
    check_case(case, client, dt)


@foreign_params("shape")
def test_foreign_client(client, other, case):
    check_foreign(case, client, other)


def _x(client, *shape):
    return client.from_numpy(np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape))


def test_cat_promotes_dtypes(client):
    a = client.from_numpy(np.ones(2, np.int32))
    b = client.from_numpy(np.full(3, 0.5, np.float32))
    y = client.cat([a, b])
    assert y.dtype.name == "f32"
    np.testing.assert_array_equal(y.numpy(), [1, 1, 0.5, 0.5, 0.5])


def test_split_returns_views(client):
    x = _x(client, 6, 2)
    parts = client.split(x, 4)
    assert [p.shape for p in parts] == [(4, 2), (2, 2)]
    assert all(p.storage is x.storage for p in parts)


def test_slice_assign_in_place_and_overlap(client):
    x = _x(client, 4, 3)
    x[1:3, 1] = client.from_numpy(np.array([-1.0, -2.0], np.float32))
    x[0] = 7.0
    x[3:, ::2] = x[0, :1]
    exp = np.arange(12, dtype=np.float32).reshape(4, 3)
    exp[1:3, 1] = [-1, -2]
    exp[0] = 7
    exp[3, ::2] = 7
    np.testing.assert_array_equal(x.numpy(), exp)
    y = _x(client, 5)
    y[1:] = y[:4]  # overlapping source and destination behave as a copy
    np.testing.assert_array_equal(y.numpy(), [0, 0, 1, 2, 3])


def test_contiguous_of_contiguous_is_same(client):
    x = _x(client, 2, 3)
    assert client.contiguous(x) is x
    assert client.copy(x) is not x and client.copy(x).storage is not x.storage


@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        (lambda c, x: c.cat([]), "tensors"),
        (lambda c, x: c.cat([x, _x(c, 2, 4)], 0), "tensors[1]"),
        (lambda c, x: c.cat([c.from_numpy(np.float32(1))]), "tensors[0]"),
        (lambda c, x: c.cat([x, x], 2), "dim"),
        (lambda c, x: c.stack([x, _x(c, 3, 2)]), "tensors[1]"),
        (lambda c, x: c.split(x, 0), "split_size"),
        (lambda c, x: c.split(x, [1, 2]), "split_size"),
        (lambda c, x: c.chunk(x, 0), "chunks"),
        (lambda c, x: c.pad(x, (1,)), "pad"),
        (lambda c, x: c.pad(x, (1, 1, 1, 1, 1, 1)), "pad"),
        (lambda c, x: c.repeat(x, 2), "repeats"),
        (lambda c, x: c.repeat_interleave(x, -1), "repeats"),
        (lambda c, x: c.roll(x, 1, 2), "dim"),
        (lambda c, x: c.flip(x, 3), "dim"),
        (lambda c, x: c.tril(_x(c, 3)), "x"),
        (lambda c, x: c.slice_assign(_x(c, 1, 3).expand(2, 3), 1.0), "dst"),
        (lambda c, x: c.slice_assign(x, _x(c, 4)), "value"),
        (lambda c, x: c.slice_assign(x, "a"), "value"),
    ],
    ids=["cat-empty", "cat-shape", "cat-0d", "cat-dim", "stack-shape", "split-0", "split-sum", "chunk-0", "pad-odd",
         "pad-too-long", "repeat-short", "interleave-neg", "roll-dim", "flip-dim", "tril-1d", "assign-broadcast-dst",
         "assign-shape", "assign-str"],
)  # fmt: skip
def test_bad_input(client, fn, arg):
    x = _x(client, 2, 3)
    raises_arg(lambda: fn(client, x), arg)
