"""gather, scatter, scatter_add, index_select and embedding on every backend."""

from __future__ import annotations

import numpy as np
import pytest

from boostr.testing.pytest_support import case_params, check_case, check_foreign, foreign_params, raises_arg


@case_params("indexing")
def test_case(client, case, dt):
    check_case(case, client, dt)


@foreign_params("indexing")
def test_foreign_client(client, other, case):
    check_foreign(case, client, other)


def _idx(client, values):
    return client.from_numpy(np.asarray(values, np.int64), client.default_int)


def test_scatter_is_not_in_place(client):
    x = client.from_numpy(np.zeros((2, 3), np.float32))
    y = client.scatter_add(x, 1, _idx(client, [[0, 0], [2, 2]]), client.from_numpy(np.ones((2, 2), np.float32)))
    np.testing.assert_array_equal(y.numpy(), [[2, 0, 0], [0, 0, 2]])
    np.testing.assert_array_equal(x.numpy(), np.zeros((2, 3)))


def test_tensor_int_key_indexes_rows(client):
    x = client.from_numpy(np.arange(12, dtype=np.float32).reshape(4, 3))
    y = x[_idx(client, [[3, 0]])]
    assert y.shape == (1, 2, 3)
    np.testing.assert_array_equal(y.numpy(), np.arange(12).reshape(4, 3)[[[3, 0]]])


def test_cpu_out_of_range_index_raises(client):
    if client.kind != "cpu":
        pytest.skip("GPU backends clamp out-of-range indices (no host round trip)")
    x = client.from_numpy(np.ones((3, 2), np.float32))
    raises_arg(lambda: client.index_select(x, 0, _idx(client, [3])), "index")
    raises_arg(lambda: client.gather(x, 0, _idx(client, [[5, 0]])), "index")


@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        (lambda c, x, i: c.gather(x, 1, c.from_numpy(np.zeros((2, 3), np.float32))), "index"),
        (lambda c, x, i: c.gather(x, 1, _idx(c, [0, 1])), "index"),
        (lambda c, x, i: c.gather(x, 1, _idx(c, np.zeros((4, 3)))), "index"),
        (lambda c, x, i: c.gather(x, 2, i), "dim"),
        (lambda c, x, i: c.scatter(x, 0, _idx(c, [[0, 1, 2, 0]]), x), "index"),
        (lambda c, x, i: c.scatter(x, 0, i, x.numpy()), "src"),
        (lambda c, x, i: c.scatter_add(x, 0, _idx(c, [0]), x), "index"),
        (lambda c, x, i: c.index_select(x, 0, _idx(c, [[0]])), "index"),
        (lambda c, x, i: c.index_select(x, 0, c.from_numpy(np.zeros(1, np.float32))), "index"),
        (lambda c, x, i: c.index_select(x, -3, _idx(c, [0])), "dim"),
        (lambda c, x, i: c.embedding(c.from_numpy(np.ones(3, np.float32)), i), "weight"),
        (lambda c, x, i: c.embedding(x, c.from_numpy(np.zeros(2, bool))), "ids"),
    ],
    ids=["gather-float-index", "gather-ndim", "gather-index-too-big", "gather-dim", "scatter-index-shape",
         "scatter-src-numpy", "scatter-add-ndim", "select-2d", "select-float", "select-dim", "embedding-1d-weight",
         "embedding-bool-ids"],
)  # fmt: skip
def test_bad_input(client, fn, arg):
    x = client.from_numpy(np.ones((2, 3), np.float32))
    i = _idx(client, [[0, 1, 0], [1, 1, 0]])
    raises_arg(lambda: fn(client, x, i), arg)
