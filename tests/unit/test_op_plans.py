"""The op front ends' hot-path plans (``ClientBase._op_plans``) and Tensor's cached layout facts,
checked by value on the CPU: a plan validated for one (op, dtype, shape, dim) must never be
reused for another, and views (offsets, strides) must read the right elements."""

from __future__ import annotations

import numpy as np
import pytest

import boostr
from boostr.errors import InvalidArgument
from boostr.tensor import Tensor, contiguous_strides


@pytest.fixture
def c():
    return boostr.get_client("cpu")


def test_reduce_plans_by_value(c) -> None:
    a = np.arange(48, dtype=np.float32).reshape(4, 12)
    x = c.from_numpy(a)
    for _ in range(2):  # the second round runs on the stored plans
        np.testing.assert_allclose(c.sum(x).numpy(), a.sum())
        np.testing.assert_allclose(c.sum(x, dim=-1).numpy(), a.sum(-1))
        np.testing.assert_allclose(c.sum(x, dim=1, keepdim=True).numpy(), a.sum(1, keepdims=True))
        np.testing.assert_allclose(c.max(x, dim=0).numpy(), a.max(0))
        np.testing.assert_array_equal(c.argmax(x, dim=1).numpy(), a.argmax(1))
        assert c.sum(x, dim=1, keepdim=True).shape == (4, 1)
    # same shape and dtype, other layouts: a transposed copy, a strided view, an offset view
    t = c.from_numpy(np.ascontiguousarray(a.T)).T
    np.testing.assert_allclose(c.sum(t, dim=-1).numpy(), a.sum(-1))
    wide = c.from_numpy(np.arange(96, dtype=np.float32).reshape(4, 24))
    np.testing.assert_allclose(c.sum(wide[:, ::2], dim=-1).numpy(), np.arange(96).reshape(4, 24)[:, ::2].sum(-1))
    tall = c.from_numpy(np.arange(60, dtype=np.float32).reshape(5, 12))
    np.testing.assert_allclose(c.sum(tall[1:], dim=-1).numpy(), np.arange(60).reshape(5, 12)[1:].sum(-1))
    # other dtypes with the planned shape: ints accumulate in i64, bools count
    i = c.from_numpy(a.astype(np.int32))
    for _ in range(2):
        s = c.sum(i, dim=-1)
        assert s.dtype is boostr.i64
        np.testing.assert_array_equal(s.numpy(), a.astype(np.int64).sum(-1))
        np.testing.assert_array_equal(c.any(c.gt(x, 40.0), dim=-1).numpy(), (a > 40).any(-1))
    for bad in (True, 2, -3):
        with pytest.raises(InvalidArgument) as e:
            c.sum(x, dim=bad)
        assert e.value.arg == "dim"


def test_binary_plans_by_value(c) -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = c.from_numpy(a)
    for _ in range(2):
        np.testing.assert_allclose(c.add(x, x).numpy(), a + a)
        np.testing.assert_allclose(c.sub(1.5, x).numpy(), 1.5 - a)
        np.testing.assert_allclose(c.mul(x, 2).numpy(), a * 2)
        np.testing.assert_allclose(c.add(x, c.from_numpy(a[0])).numpy(), a + a[0])  # broadcast
        np.testing.assert_allclose(c.add(x.T, x.T).numpy(), a.T + a.T)  # strided
        np.testing.assert_array_equal(c.lt(x, 5.0).numpy(), a < 5)
    h = c.from_numpy(a.astype(np.float16))
    for _ in range(2):
        y = c.add(h, x)  # promotion on the hot path
        assert y.dtype is boostr.f32
        np.testing.assert_allclose(y.numpy(), a + a)
    i = c.from_numpy(np.arange(6, dtype=np.int32))
    for _ in range(2):
        assert c.div(i, 2).dtype is boostr.f32
        np.testing.assert_array_equal(c.pow(i, 2).numpy(), np.arange(6) ** 2)
    with pytest.raises(InvalidArgument) as e:
        c.pow(i, -1)
    assert e.value.arg == "b"
    with pytest.raises(InvalidArgument) as e:
        c.add(x, c.from_numpy(np.zeros((2, 4), dtype=np.float32)))
    assert e.value.arg == "b"
    with pytest.raises(InvalidArgument) as e:
        c.add(x, "1")
    assert e.value.arg == "b"


def test_norm_and_softmax_by_value(c) -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 5, 16)).astype(np.float32)
    w = rng.standard_normal(16).astype(np.float32)
    x, wt = c.from_numpy(a), c.from_numpy(w)
    ref = a / np.sqrt((a.astype(np.float64) ** 2).mean(-1, keepdims=True) + 1e-6) * w
    for view, r in ((x, ref), (x[1:], ref[1:]), (x.transpose(0, 1), ref.transpose(1, 0, 2))):
        y = c.rms_norm(view, wt, 1e-6)
        assert y.shape == view.shape and y.is_contiguous()
        np.testing.assert_allclose(y.numpy(), r, rtol=1e-5, atol=1e-5)
    e = np.exp(a - a.max(-1, keepdims=True))
    np.testing.assert_allclose(c.softmax(x, -1).numpy(), e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-6)
    e0 = np.exp(a - a.max(0, keepdims=True))
    np.testing.assert_allclose(c.softmax(x, 0).numpy(), e0 / e0.sum(0, keepdims=True), rtol=1e-5, atol=1e-6)
    empty = c.from_numpy(np.zeros((3, 0), dtype=np.float32))
    assert c.softmax(empty, -1).shape == (3, 0)


def test_tensor_layout_caches(c) -> None:
    x = c.from_numpy(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    assert x.is_contiguous() and x.strides == (12, 4, 1)
    t = x.transpose(0, 2)
    assert not t.is_contiguous() and not t.is_contiguous()  # computed once, same answer
    assert x[:, :, :1].is_contiguous() is False and x[:1].is_contiguous()
    y = x[1].reshape(12)  # a contiguous view with an offset stays a view
    assert y.storage is x.storage and y.offset == 12 and y.is_contiguous()
    np.testing.assert_array_equal(y.numpy(), np.arange(12, 24))
    assert x.reshape(np.int64(4), 6).shape == (4, 6)
    assert x.reshape([6, 4]).shape == (6, 4) and x[0, 0, :1].reshape(()).shape == ()
    with pytest.raises(InvalidArgument):
        x.reshape(True, 24)
    with pytest.raises(InvalidArgument):
        x.reshape(-2, -12)
    assert contiguous_strides((2, 0, 3)) == (3, 3, 1) and contiguous_strides([4, 5]) == (5, 1)
    assert all(type(s) is int for s in contiguous_strides((np.int64(3), np.int64(2))))
    z = Tensor(x.storage, (2, 12), x.dtype, c, strides=(12, 1))
    assert z.is_contiguous()
