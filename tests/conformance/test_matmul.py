"""Batched broadcasting matmul on every backend: cases, shapes and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from boostr.testing.pytest_support import case_params, check_case, check_foreign, foreign_params, raises_arg


@case_params("matmul")
def test_case(client, case, dt):
    check_case(case, client, dt)


@foreign_params("matmul")
def test_foreign_client(client, other, case):
    check_foreign(case, client, other)


@pytest.mark.parametrize(
    ("sa", "sb", "out"),
    [((3, 4), (4, 5), (3, 5)), ((4,), (4, 5), (5,)), ((3, 4), (4,), (3,)), ((4,), (4,), ()),
     ((2, 1, 3, 4), (5, 4, 6), (2, 5, 3, 6)), ((0, 4), (4, 2), (0, 2)), ((3, 0), (0, 2), (3, 2))],
)  # fmt: skip
def test_result_shapes(client, sa, sb, out):
    a = client.from_numpy(np.ones(sa, np.float32))
    b = client.from_numpy(np.ones(sb, np.float32))
    y = client.matmul(a, b)
    assert y.shape == out
    assert np.all(y.numpy() == sa[-1])


def test_matmul_operator(client):
    a = client.from_numpy(np.eye(3, dtype=np.float32))
    b = client.from_numpy(np.arange(9, dtype=np.float32).reshape(3, 3))
    np.testing.assert_array_equal((a @ b).numpy(), b.numpy())


@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        (lambda c, a, b: c.matmul(a, c.from_numpy(np.ones((5, 2), np.float32))), "b"),
        (lambda c, a, b: c.matmul(c.from_numpy(np.float32(1)), b), "a"),
        (lambda c, a, b: c.matmul(a, c.from_numpy(np.float32(1))), "b"),
        (lambda c, a, b: c.matmul(c.cast(a, "i32"), c.cast(b, "i32")), "a"),
        (lambda c, a, b: c.matmul(c.ones(2, 3, 4), c.ones(3, 4, 2)), "b"),
        (lambda c, a, b: c.matmul(a, b.numpy()), "b"),
    ],
    ids=["inner-dim", "a-0d", "b-0d", "int", "batch-broadcast", "numpy-input"],
)  # fmt: skip
def test_bad_input(client, fn, arg):
    a = client.from_numpy(np.ones((3, 4), np.float32))
    b = client.from_numpy(np.ones((4, 2), np.float32))
    raises_arg(lambda: fn(client, a, b), arg)
