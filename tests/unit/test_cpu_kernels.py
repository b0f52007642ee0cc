"""CPU backend internals: numba kernels (topk, softmax, norms, gather, exp_f32),
numpy view fast paths, and the numba cache-dir fallback."""

from __future__ import annotations

import os

import numba
import numpy as np
import pytest

import boostr
from boostr.errors import InvalidArgument
from boostr.kernels import cpu as kcpu
from boostr.kernels.cpu.fastmath import exp_f32
from boostr.kernels.cpu.norm import add_rms_norm_rows, rms_norm_rows
from boostr.kernels.cpu.softmax import softmax_rows_f32
from boostr.kernels.cpu.topk import topk_rows
from boostr.ops.cpu._view import np_view

RNG = np.random.default_rng(1234)


@pytest.fixture
def cpu():  # type: ignore[no-untyped-def]
    return boostr.get_client("cpu")


def _ref_topk(v: np.ndarray, k: int, largest: bool) -> tuple[np.ndarray, np.ndarray]:
    """Stable full sort (NaN largest, ties by lower index), truncated to k."""
    if largest:
        order = v.shape[1] - 1 - np.argsort(v[:, ::-1], axis=1, kind="stable")[:, ::-1]
    else:
        order = np.argsort(v, axis=1, kind="stable")
    order = order[:, :k]
    return np.take_along_axis(v, order, axis=1), order


def _run_topk(v: np.ndarray, k: int, largest: bool) -> tuple[np.ndarray, np.ndarray]:
    vals = np.empty((v.shape[0], k), v.dtype)
    idx = np.empty((v.shape[0], k), np.int64)
    topk_rows(v, k, largest, vals, idx)
    return vals, idx


# ------------------------------------------------------------------ topk
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.uint8])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_kernel_matches_stable_sort(dtype: type, largest: bool) -> None:
    for _ in range(40):
        rows, cols = int(RNG.integers(1, 5)), int(RNG.integers(1, 70))
        v = RNG.integers(0, 6, (rows, cols)).astype(dtype)  # many ties
        if np.dtype(dtype).kind == "f":
            v[RNG.random((rows, cols)) < 0.15] = np.nan
            v[RNG.random((rows, cols)) < 0.1] = np.inf
            v[RNG.random((rows, cols)) < 0.1] = -np.inf
        for k in sorted({1, cols, int(RNG.integers(1, cols + 1))}):
            vals, idx = _run_topk(v, k, largest)
            ref_v, ref_i = _ref_topk(v, k, largest)
            np.testing.assert_array_equal(idx, ref_i)
            np.testing.assert_array_equal(vals, ref_v)


def test_topk_kernel_nan_order_and_ties() -> None:
    v = np.array([[1.0, np.nan, 3.0, np.nan, 3.0, -np.inf]], np.float32)
    _, idx = _run_topk(v, 6, True)
    assert idx.tolist() == [[1, 3, 2, 4, 0, 5]]  # NaN largest (by index), then ties by lower index
    _, idx = _run_topk(v, 6, False)
    assert idx.tolist() == [[5, 0, 2, 4, 1, 3]]  # NaN last for smallest
    _, idx = _run_topk(v, 1, False)
    assert idx.tolist() == [[5]]


@pytest.mark.parametrize("dt", ["f32", "f16", "bf16", "i32", "bool"])
def test_topk_through_client(cpu, dt: str) -> None:  # type: ignore[no-untyped-def]
    x = cpu.from_numpy(RNG.integers(0, 4, (3, 5, 40)).astype(np.float32)).to(dt)
    ref = x.numpy().astype(np.float32) if dt != "bool" else x.numpy().astype(np.uint8)
    vals, idx = cpu.topk(x, 7, dim=-1)
    ref_v, ref_i = _ref_topk(ref.reshape(15, 40), 7, True)
    np.testing.assert_array_equal(idx.numpy().reshape(15, 7), ref_i)
    np.testing.assert_array_equal(vals.numpy().astype(ref.dtype).reshape(15, 7), ref_v)
    _, idx1 = cpu.topk(x, 2, dim=1, largest=False)  # a non-last dim goes through the row move
    ref_i1 = np.argsort(ref, axis=1, kind="stable")[:, :2]
    np.testing.assert_array_equal(idx1.numpy(), ref_i1)


# --------------------------------------------------------------- softmax
def _ref_softmax(x: np.ndarray, log: bool) -> np.ndarray:
    x = x.astype(np.float64)
    with np.errstate(all="ignore"):
        m = x.max(axis=1, keepdims=True)
        e = np.exp(x - m)
        s = e.sum(axis=1, keepdims=True)
        return x - m - np.log(s) if log else e / s


@pytest.mark.parametrize("log", [False, True])
def test_softmax_f32_kernel_special_rows(log: bool) -> None:
    x = (RNG.standard_normal((8, 300)) * 20).astype(np.float32)
    x[1, 7] = np.nan  # NaN row
    x[2, 3] = np.inf  # +inf row
    x[3, :] = -np.inf  # all -inf: 0/0
    x[4, ::3] = -np.inf  # masked entries
    x[5, 0] = np.nan  # NaN in the first column (seeds the running max)
    out = np.empty_like(x)
    softmax_rows_f32(x, out, log)
    ref = _ref_softmax(x, log)
    assert np.isnan(out[1:4]).all() and np.isnan(out[5]).all()
    assert np.isnan(ref[1:4]).all() and np.isnan(ref[5]).all()
    good = [0, 4, 6, 7]
    if log:
        assert np.all(out[4, ::3] == -np.inf)
        np.testing.assert_allclose(out[good][np.isfinite(ref[good])], ref[good][np.isfinite(ref[good])], atol=2e-5)
    else:
        assert np.all(out[4, ::3] == 0.0)
        np.testing.assert_allclose(out[good], ref[good], rtol=2e-6, atol=1e-9)


def test_exp_f32_accuracy_and_underflow() -> None:
    @numba.njit
    def run(x, out):  # type: ignore[no-untyped-def]
        for i in range(x.shape[0]):
            out[i] = exp_f32(x[i])

    x = np.linspace(-87.0, 80.0, 200001, dtype=np.float32)
    out = np.empty_like(x)
    run(x, out)
    ref = np.exp(x.astype(np.float64))
    assert np.max(np.abs(out - ref) / ref) < 3e-7
    low = np.array([-88.0, -100.0, -np.inf], np.float32)
    out = np.empty_like(low)
    run(low, out)
    assert out.tolist() == [0.0, 0.0, 0.0]


# ----------------------------------------------------------------- norms
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norm_kernels(dtype: type) -> None:
    x = RNG.standard_normal((9, 257)).astype(dtype)
    r = RNG.standard_normal((9, 257)).astype(dtype)
    w = RNG.standard_normal(257).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12

    def ref(v: np.ndarray) -> np.ndarray:
        v = v.astype(np.float64)
        return v / np.sqrt((v * v).mean(axis=1, keepdims=True) + 1e-6) * w

    out = np.empty_like(x)
    rms_norm_rows(x, w, True, 1e-6, out)
    np.testing.assert_allclose(out, ref(x), rtol=tol, atol=tol)
    rms_norm_rows(x, w[:1], False, 1e-6, out)
    np.testing.assert_allclose(out, ref(x) / w, rtol=tol * 10, atol=tol)
    s = np.empty_like(x)
    add_rms_norm_rows(x, r, w, True, 1e-6, out, s)
    np.testing.assert_array_equal(s, x + r)
    np.testing.assert_allclose(out, ref(x + r), rtol=tol, atol=tol)


# ---------------------------------------------------------------- gather
@pytest.mark.parametrize("dt", ["f32", "bf16", "fp8_e4m3", "i64", "bool"])
def test_index_select_bits_and_negative_indices(cpu, dt: str) -> None:  # type: ignore[no-untyped-def]
    table = cpu.from_numpy(RNG.standard_normal((6, 4, 5)).astype(np.float32)).to(dt)
    ref = table.numpy()
    ids = np.array([5, 0, -1, 2, 2], np.int64)
    for dim in range(3):
        n = table.shape[dim]
        got = cpu.index_select(table, dim, cpu.from_numpy(ids % n - (ids < 0) * n)).numpy()
        np.testing.assert_array_equal(got.view(np.uint8), np.take(ref, ids % n, axis=dim).view(np.uint8))
    emb = cpu.embedding(table.reshape(6, 20), cpu.from_numpy(np.array([[1, -6], [5, 0]], np.int32)))
    assert emb.shape == (2, 2, 20)
    np.testing.assert_array_equal(emb.numpy().view(np.uint8), ref.reshape(6, 20)[[[1, 0], [5, 0]]].view(np.uint8))


def test_index_select_out_of_range(cpu) -> None:  # type: ignore[no-untyped-def]
    table = cpu.from_numpy(np.zeros((4, 3), np.float32))
    for bad in ([0, 4], [-5, 1]):
        with pytest.raises(InvalidArgument, match="index"):
            cpu.index_select(table, 0, cpu.from_numpy(np.array(bad, np.int64)))


# ----------------------------------------------------------------- views
def test_contiguous_view_aliases_storage(cpu) -> None:  # type: ignore[no-untyped-def]
    t = cpu.from_numpy(np.arange(24, dtype=np.float32).reshape(4, 6))
    v = np_view(t)
    assert v.shape == (4, 6) and np.shares_memory(v, t.storage)
    v[1, 2] = -1.0
    assert t.numpy()[1, 2] == -1.0
    row = t[2]  # contiguous with an offset: slice + reshape of the flat storage
    rv = np_view(row)
    assert np.shares_memory(rv, t.storage) and rv.tolist() == list(range(12, 18))
    rv[0] = 99.0
    assert t.numpy()[2, 0] == 99.0


def test_strided_and_broadcast_views_alias(cpu) -> None:  # type: ignore[no-untyped-def]
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    t = cpu.from_numpy(base)
    for view, ref in (
        (t.T, base.T),
        (t[1:, ::2], base[1:, ::2]),
        (t[:, 3:4].expand(4, 5), np.broadcast_to(base[:, 3:4], (4, 5))),
        (t.unsqueeze(1), base[:, None]),
        (t[4:], base[4:]),
        (t.narrow(1, 6, 0), base[:, 6:]),
    ):
        v = np_view(view)
        np.testing.assert_array_equal(v, ref)
        if v.size:
            assert np.shares_memory(v, t.storage)


def test_binary_hot_path_matches_numpy(cpu) -> None:  # type: ignore[no-untyped-def]
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    b = RNG.standard_normal((4,)).astype(np.float32)
    ta, tb = cpu.from_numpy(a), cpu.from_numpy(b)
    np.testing.assert_array_equal(cpu.add(ta, tb).numpy(), a + b)
    np.testing.assert_array_equal(cpu.sub(2.0, ta).numpy(), np.float32(2.0) - a)
    np.testing.assert_array_equal(cpu.lt(ta, ta.T.T).numpy(), np.zeros((3, 4), bool))
    np.testing.assert_array_equal(cpu.exp(ta).numpy(), np.exp(a))
    h = cpu.from_numpy(a).to("bf16")
    np.testing.assert_array_equal(
        cpu.mul(h, h).to("f32").numpy(), (h.numpy().astype(np.float32) ** 2).astype(h.numpy().dtype).astype(np.float32)
    )


# ------------------------------------------------------------- numba cache
def test_numba_cache_dir_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("BOOSTR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    kcpu._ensure_numba_cache(str(blocker / "pkg"))  # __pycache__ cannot be created below a file
    want = str(tmp_path / "cache" / "numba")
    assert os.environ["NUMBA_CACHE_DIR"] == want
    assert numba.config.CACHE_DIR == want
    assert os.path.isdir(want)


def test_numba_cache_dir_untouched_when_writable_or_set(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    kcpu._ensure_numba_cache(str(tmp_path))
    assert "NUMBA_CACHE_DIR" not in os.environ
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/somewhere/else")
    kcpu._ensure_numba_cache(str(tmp_path / "x" / "y"))
    assert os.environ["NUMBA_CACHE_DIR"] == "/somewhere/else"
