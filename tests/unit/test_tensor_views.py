"""Tensor views (zero-copy), host boundary methods, repr and operator delegation (CPU)."""

from __future__ import annotations

import numpy as np
import pytest

import boostr
from boostr.errors import InvalidArgument


@pytest.fixture
def c():
    return boostr.get_client("cpu")


@pytest.fixture
def x(c):
    return c.from_numpy(np.arange(24, dtype=np.float32).reshape(2, 3, 4))


A = np.arange(24, dtype=np.float32).reshape(2, 3, 4)


def test_reshape_is_a_view_when_possible(x):
    y = x.reshape(6, 4)
    assert y.storage is x.storage and y.shape == (6, 4)
    np.testing.assert_array_equal(y.numpy(), A.reshape(6, 4))
    assert x.reshape(-1, 2).shape == (12, 2)
    assert x.view(4, 6).shape == (4, 6)


def test_reshape_non_contiguous_copies(x):
    t = x.transpose(1, 2)
    assert not t.is_contiguous()
    y = t.reshape(2, 12)
    np.testing.assert_array_equal(y.numpy(), A.transpose(0, 2, 1).reshape(2, 12))
    assert y.storage is not x.storage
    z = x[:, :, ::2].reshape(2, 3, 2)  # splits nothing: stays a view
    assert z.storage is x.storage


def test_reshape_errors(x):
    with pytest.raises(InvalidArgument) as e:
        x.reshape(5, 5)
    assert e.value.arg == "shape"
    with pytest.raises(InvalidArgument):
        x.reshape(-1, -1)


def test_permute_transpose_t(x):
    np.testing.assert_array_equal(x.permute(2, 0, 1).numpy(), A.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.transpose(0, 2).numpy(), A.swapaxes(0, 2))
    np.testing.assert_array_equal(x.T.numpy(), A.T)
    assert x.permute(2, 0, 1).storage is x.storage
    with pytest.raises(InvalidArgument):
        x.permute(0, 0, 1)


def test_narrow(x):
    np.testing.assert_array_equal(x.narrow(2, 1, 2).numpy(), A[:, :, 1:3])
    np.testing.assert_array_equal(x.narrow(1, -2, 2).numpy(), A[:, -2:])
    with pytest.raises(InvalidArgument):
        x.narrow(2, 3, 2)


@pytest.mark.parametrize(
    "key",
    [0, -1, (1, 2), (slice(None), 1), (Ellipsis, 2), (None, 0), (0, None, slice(1, 3)), (slice(None, None, 2),),
     (Ellipsis, slice(1, None, 2)), (1, Ellipsis, None), (slice(5, 9),), (-2, -1, -3)],
)  # fmt: skip
def test_basic_slicing(x, key):
    y = x[key]
    np.testing.assert_array_equal(y.numpy(), A[key])
    assert y.storage is x.storage


def test_slicing_errors(x):
    for key in [(0, 0, 0, 0), 5, (Ellipsis, Ellipsis), slice(None, None, -1), "a"]:
        with pytest.raises(InvalidArgument):
            x[key]


def test_expand_squeeze_unsqueeze_flatten(c, x):
    v = c.from_numpy(np.arange(3, dtype=np.float32).reshape(3, 1))
    e = v.expand(2, 3, 4)
    assert e.strides[0] == 0 and e.strides[2] == 0
    np.testing.assert_array_equal(e.numpy(), np.broadcast_to(v.numpy(), (2, 3, 4)))
    assert v.expand(-1, 5).shape == (3, 5)
    with pytest.raises(InvalidArgument):
        v.expand(4, 4)
    assert v.squeeze().shape == (3,) and v.squeeze(1).shape == (3,) and v.squeeze(0).shape == (3, 1)
    assert v.unsqueeze(0).shape == (1, 3, 1) and v.unsqueeze(-1).shape == (3, 1, 1)
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12) and x.flatten(0, 1).shape == (6, 4)
    assert c.from_numpy(np.float32(2)).flatten().shape == (1,)


def test_contiguous(x):
    assert x.contiguous() is x
    t = x.transpose(0, 1)
    ct = t.contiguous()
    assert ct.is_contiguous() and ct.storage is not x.storage
    np.testing.assert_array_equal(ct.numpy(), A.transpose(1, 0, 2))


def test_setitem_slice_assign_broadcast(c):
    y = c.zeros(3, 4)
    y[1] = c.from_numpy(np.array([1, 2, 3, 4], np.float32))
    y[:, ::3] = 9.0
    y[2, 1:3] = c.from_numpy(np.array([[5.0]], np.float32)).reshape(1)
    want = np.zeros((3, 4), np.float32)
    want[1] = [1, 2, 3, 4]
    want[:, ::3] = 9
    want[2, 1:3] = 5
    np.testing.assert_array_equal(y.numpy(), want)
    y[0] = c.from_numpy(np.array([7], np.int32))  # cast on assignment
    assert y.numpy()[0].tolist() == [7, 7, 7, 7]


def test_host_boundary(c, x):
    assert c.from_numpy(np.float32(3.5)).item() == 3.5
    assert x[1, 2, 3].item() == 23.0
    assert x[0, 0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert np.asarray(x).shape == (2, 3, 4)
    assert np.array(x, dtype=np.float64).dtype == np.float64
    h = c.from_numpy(np.array([1.5, 2.5], np.float16))
    assert h.tolist() == [1.5, 2.5]
    with pytest.raises(InvalidArgument):
        x.item()
    assert float(x[0, 0, 1]) == 1.0 and int(x[0, 0, 2]) == 2 and bool(x[0, 0, 1])


def test_repr_shows_dtype_and_device(c):
    r = repr(c.from_numpy(np.array([1, 2], np.int32)))
    assert "dtype=i32" in r and "device=cpu" in r and "1" in r and "2" in r


def test_metadata(x):
    assert x.ndim == 3 and x.dim() == 3 and x.numel == 24 and len(x) == 2
    assert x.size() == (2, 3, 4) and x.size(-1) == 4
    assert x.nbytes == 96 and x.device == "cpu" and x.backend == "cpu"
    assert x.strides == (12, 4, 1) and x.offset == 0
    assert x[1].offset == 12


def test_operators_delegate_to_client(c):
    a = c.from_numpy(np.array([1.0, 2.0, 4.0], np.float32))
    b = c.from_numpy(np.array([2.0, 2.0, 2.0], np.float32))
    np.testing.assert_array_equal((a + b).numpy(), [3, 4, 6])
    np.testing.assert_array_equal((a - b).numpy(), [-1, 0, 2])
    np.testing.assert_array_equal((a * b).numpy(), [2, 4, 8])
    np.testing.assert_array_equal((a / b).numpy(), [0.5, 1, 2])
    np.testing.assert_array_equal((a**b).numpy(), [1, 4, 16])
    np.testing.assert_array_equal((1 + a).numpy(), [2, 3, 5])
    np.testing.assert_array_equal((8 / a).numpy(), [8, 4, 2])
    np.testing.assert_array_equal((-a).numpy(), [-1, -2, -4])
    np.testing.assert_array_equal((a == b).numpy(), [False, True, False])
    np.testing.assert_array_equal((a != b).numpy(), [True, False, True])
    np.testing.assert_array_equal((a < b).numpy(), [True, False, False])
    np.testing.assert_array_equal((a <= b).numpy(), [True, True, False])
    np.testing.assert_array_equal((a > b).numpy(), [False, False, True])
    np.testing.assert_array_equal((a >= b).numpy(), [False, True, True])
    m = c.from_numpy(np.eye(3, dtype=np.float32))
    np.testing.assert_array_equal((m @ a).numpy(), [1, 2, 4])
    assert (a + b).client is c


def test_to_backend_and_dtype(c, x):
    assert x.to("cpu") is x
    assert x.to(boostr.f16).dtype is boostr.f16
    assert x.to("f64").dtype is boostr.f64
