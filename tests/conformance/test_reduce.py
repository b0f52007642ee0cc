"""Reductions, softmax/log_softmax and cumsum on every backend: cases, edges and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boostr.errors import UnsupportedDType
from boostr.testing import assert_close, assert_equal
from boostr.testing.pytest_support import case_params, check_case, check_foreign, foreign_params, raises_arg


@case_params("reduce")
def test_case(client, case, dt):
    check_case(case, client, dt)


@foreign_params("reduce")
def test_foreign_client(client, other, case):
    check_foreign(case, client, other)


def _f32(client, arr):
    return client.from_numpy(np.asarray(arr, np.float32))


def test_softmax_of_all_neg_inf_row_is_nan(client):
    x = _f32(client, [[-math.inf, -math.inf, -math.inf], [0.0, 0.0, -math.inf]])
    y = client.softmax(x, -1).numpy()
    assert np.isnan(y[0]).all()
    assert_close(y[1], [0.5, 0.5, 0.0], "f32", client.device_name)
    ly = client.log_softmax(x, -1).numpy()
    assert np.isnan(ly[0]).all()
    assert ly[1, 2] == -math.inf


def test_softmax_rows_sum_to_one(client):
    x = client.randn(5, 257, generator=_gen(1))
    s = client.sum(client.softmax(x, -1), -1).numpy()
    assert_close(s, np.ones(5), "f32", client.device_name, scale=8)


def test_argmax_nan_wins_and_first_index(client):
    x = _f32(client, [[1.0, 7.0, 7.0, math.nan, math.nan], [2.0, 2.0, 2.0, 2.0, 2.0]])
    assert_equal(client.argmax(x, 1).numpy(), np.array([3, 0]))
    assert_equal(client.argmin(x, 1).numpy(), np.array([3, 0]))
    assert client.argmax(x, 1).dtype is client.default_int


def test_logsumexp_all_neg_inf_is_neg_inf(client):
    x = _f32(client, [[-math.inf, -math.inf]])
    assert client.logsumexp(x, -1).numpy()[0] == -math.inf


def test_sum_keepdim_shapes(client):
    x = _f32(client, np.ones((2, 3, 4)))
    assert client.sum(x, (0, 2), keepdim=True).shape == (1, 3, 1)
    assert client.sum(x, -1).shape == (2, 3)
    assert client.sum(x).shape == ()
    assert client.argmax(x, None, keepdim=True).shape == (1, 1, 1)
    assert client.mean(x, [0, 1]).shape == (4,)


def test_mean_of_ints_is_f32(client):
    x = client.from_numpy(np.array([1, 2, 4], np.int32))
    m = client.mean(x)
    assert m.dtype.name == "f32"
    assert_close(m.numpy(), np.array(7 / 3), "f32", client.device_name)


def test_sum_of_f16_accumulates_in_f32(client):
    """2048 ones plus many small values: an f16 accumulator would stall at 2048."""
    if "f16" not in {d.name for d in client.compute_dtypes}:
        pytest.skip("no f16 compute")
    x = client.from_numpy(np.concatenate([np.full(1, 2048.0), np.ones(1000)]).astype(np.float16))
    assert client.sum(x).item() == pytest.approx(3048.0, abs=2.0)


@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        (lambda c, x: c.sum(x, 3), "dim"),
        (lambda c, x: c.sum(x, (0, 0)), "dim"),
        (lambda c, x: c.max(x, -4), "dim"),
        (lambda c, x: c.argmax(x, (0, 1)), "dim"),
        (lambda c, x: c.softmax(x, 2), "dim"),
        (lambda c, x: c.softmax(c.cast(x, "i32"), -1), "x"),
        (lambda c, x: c.log_softmax(c.cast(x, "bool"), -1), "x"),
        (lambda c, x: c.max(c.zeros(3, 0), 1), "x"),
        (lambda c, x: c.argmin(c.zeros(0)), "x"),
        (lambda c, x: c.cumsum(x, 5), "dim"),
        (lambda c, x: c.sum(x.numpy()), "x"),
    ],
    ids=["dim-range", "dim-repeat", "max-dim", "argmax-tuple", "softmax-dim", "softmax-int", "logsoftmax-bool",
         "max-empty", "argmin-empty", "cumsum-dim", "numpy-input"],
)  # fmt: skip
def test_bad_input(client, fn, arg):
    x = _f32(client, np.ones((2, 3)))
    raises_arg(lambda: fn(client, x), arg)


def test_fp8_reductions_refused(client):
    """fp8 is a storage type wherever it is not in compute_dtypes: every reduction refuses it."""
    import boostr

    fp8 = [
        d for d in (boostr.fp8_e4m3, boostr.fp8_e5m2) if d in client.storage_dtypes and d not in client.compute_dtypes
    ]
    if not fp8:
        pytest.skip("no storage-only fp8 dtype here")
    x = client.cast(_f32(client, np.ones((2, 3))), fp8[0])
    for op in ("sum", "mean", "max", "var", "std", "logsumexp", "softmax", "cumsum"):
        with pytest.raises(UnsupportedDType):
            getattr(client, op)(x, -1)


def _gen(seed):
    from boostr import Generator

    return Generator(seed)
