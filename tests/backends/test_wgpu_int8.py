"""WebGPU i8 / u8 storage: compact (four per u32 word), odd offsets, casts, big tensors, KV codes.

Runs on any wgpu adapter (CI: Mesa lavapipe); skipped when wgpu cannot load. References are numpy
int arithmetic (wrapping like the dtype) and the CPU backend's casts.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import boostr
from boostr import dtype as _dt
from boostr.runtime.registry import backend_status
from boostr.runtime.wgpu.buffers import size_class

pytestmark = pytest.mark.skipif(backend_status("wgpu") is not None, reason=f"wgpu: {backend_status('wgpu')}")

BYTES = (_dt.i8, _dt.u8)


@pytest.fixture(scope="module")
def wc():  # type: ignore[no-untyped-def]
    return boostr.get_client("wgpu")


@pytest.fixture(scope="module")
def cpu():  # type: ignore[no-untyped-def]
    return boostr.get_client("cpu")


def _words(n: int) -> int:
    return -(-n // 4) * 4


@pytest.mark.parametrize("dt", BYTES, ids=str)
def test_storage_is_compact(wc, dt) -> None:  # type: ignore[no-untyped-def]
    """numel bytes rounded up to a word (not one u32 per element), for uploads, new tensors and results."""
    assert dt in wc.storage_dtypes and dt in wc.compute_dtypes
    for n in (1, 3, 4, 5, 1000, 4097, 1 << 20):
        host = (np.arange(n) % 251).astype(dt.np_dtype)
        t = wc.from_numpy(host)
        assert t.storage.nbytes == _words(n), (n, t.storage)
        assert t.storage.buffer.size == size_class(_words(n))
        assert wc.zeros(n, dtype=dt).storage.nbytes == _words(n)
        r = wc.add(t, t)
        assert r.dtype is dt and r.storage.nbytes == _words(n)
        np.testing.assert_array_equal(r.numpy(), host + host)  # wraps modulo 256 like numpy
    big = wc.zeros(1 << 20, dtype=dt)
    assert big.storage.buffer.size <= (1 << 20) * 5 // 4  # a 4-byte-per-element layout would be 4 MiB


def test_kv_quant_codes_are_compact(wc) -> None:  # type: ignore[no-untyped-def]
    x = wc.from_numpy(np.random.default_rng(0).standard_normal((3, 5, 7, 64)).astype(np.float32))
    d8, s8, _ = wc.quantize_kv(x, "int8")
    assert d8.dtype is _dt.i8 and d8.storage.nbytes == x.numel  # 1 byte per element (x: 4)
    assert s8.storage.nbytes == 4 * x.numel // 64
    d4, s4, z4 = wc.quantize_kv(x, "int4", group_size=32)
    assert d4.dtype is _dt.u8 and d4.shape == (3, 5, 7, 32) and d4.storage.nbytes == x.numel // 2
    assert z4 is not None and s4.storage.nbytes == z4.storage.nbytes == 4 * x.numel // 32
    odd = wc.from_numpy(np.ones((5, 7), np.float32))  # int8 rows of 7 codes straddle u32 words
    assert wc.quantize_kv(odd, "int8")[0].storage.nbytes == _words(35)


@pytest.mark.parametrize("dt", BYTES, ids=str)
def test_odd_offset_views(wc, dt) -> None:  # type: ignore[no-untyped-def]
    """Views at offsets that are not word aligned: download, strided copy, fill, arithmetic."""
    n = 1031
    info = np.iinfo(dt.np_dtype)
    host = np.random.default_rng(1).integers(info.min, info.max + 1, n).astype(dt.np_dtype)
    t = wc.from_numpy(host)
    for off in (1, 2, 3, 5):
        np.testing.assert_array_equal(t[off:].numpy(), host[off:])
        np.testing.assert_array_equal(t[off : n - off : 3].numpy(), host[off : n - off : 3])
    m = t[3:1027].reshape(32, 32)
    np.testing.assert_array_equal(m.T.numpy(), host[3:1027].reshape(32, 32).T)
    dst = wc.zeros(n, dtype=dt)
    dst[1:1030:2] = t[2:1031:2]  # odd destination offset, every other byte of each word
    want = np.zeros(n, dt.np_dtype)
    want[1:1030:2] = host[2:1031:2]
    np.testing.assert_array_equal(dst.numpy(), want)
    dst[5:10] = -3 if dt is _dt.i8 else 253  # a fill touching two words partially
    want[5:10] = -3 if dt is _dt.i8 else 253
    np.testing.assert_array_equal(dst.numpy(), want)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(wc.mul(t[1:], t[:-1]).numpy(), host[1:] * host[:-1])
        np.testing.assert_array_equal(wc.sub(t[3:], 7).numpy(), host[3:] - dt.np_dtype.type(7))
    np.testing.assert_array_equal(wc.lt(t[1:], t[:-1]).numpy(), host[1:] < host[:-1])
    np.testing.assert_array_equal(wc.max(t[1:]).numpy(), host[1:].max())
    np.testing.assert_array_equal(wc.sum(t[3:]).numpy(), host[3:].astype(np.int64).sum())


@pytest.mark.parametrize("dt", BYTES, ids=str)
def test_casts_match_cpu(wc, cpu, dt) -> None:  # type: ignore[no-untyped-def]
    """i8 / u8 to and from every wgpu storage dtype, as the CPU backend casts (wrapping, truncating)."""
    rng = np.random.default_rng(2)
    vals = np.concatenate([rng.uniform(-300, 300, 61), [0.0, -0.0, 0.5, -0.5, 127.9, -128.9, 255.5, 1.0]])
    for other in sorted(wc.storage_dtypes, key=lambda d: d.name):
        src_c = cpu.cast(cpu.from_numpy(vals.astype(np.float32)), other)
        src_w = wc.from_numpy(src_c.numpy(), other)
        got = wc.cast(src_w[1:], dt).numpy()  # odd offset into the source
        np.testing.assert_array_equal(got, cpu.cast(src_c[1:], dt).numpy(), err_msg=f"{other} -> {dt}")
        b_c = cpu.cast(cpu.from_numpy(vals.astype(np.float32)), dt)
        b_w = wc.from_numpy(b_c.numpy(), dt)
        back = wc.cast(b_w[3:], other).numpy()
        want = cpu.cast(b_c[3:], other).numpy()
        if other.is_fp8:  # compare codes (NaN payloads included)
            back, want = back.view(np.uint8), want.view(np.uint8)
        np.testing.assert_array_equal(back, want, err_msg=f"{dt} -> {other}")


def test_scatter_add_and_gather_bytes(wc) -> None:  # type: ignore[no-untyped-def]
    """Accumulating scatter wraps modulo 256 (via a wide copy); plain scatter / gather move single bytes."""
    rng = np.random.default_rng(3)
    base = rng.integers(-128, 128, (6, 9)).astype(np.int8)
    src = rng.integers(-128, 128, (4, 9)).astype(np.int8)
    idx = rng.integers(0, 6, (4, 9)).astype(np.int32)
    out = wc.from_numpy(base)
    got = wc.scatter_add(out, 0, wc.from_numpy(idx), wc.from_numpy(src)).numpy()
    want = base.astype(np.int64)
    np.add.at(want, (idx, np.broadcast_to(np.arange(9), idx.shape)), src.astype(np.int64))
    np.testing.assert_array_equal(got, want.astype(np.int8))
    g = wc.gather(wc.from_numpy(base), 0, wc.from_numpy(idx)).numpy()
    np.testing.assert_array_equal(g, np.take_along_axis(base, idx, 0))
    u = base.view(np.uint8)
    sel = wc.index_select(wc.from_numpy(u), 1, wc.from_numpy(np.array([8, 1, 1, 5], np.int32))).numpy()
    np.testing.assert_array_equal(sel, u[:, [8, 1, 1, 5]])


def test_i8_over_binding_limit_odd_offsets(wc) -> None:  # type: ignore[no-untyped-def]
    """An i8 tensor larger than one storage binding (128 MiB on most adapters): windows at odd element
    offsets across the binding boundary read and write the right bytes; freed afterwards."""
    limit = wc.max_binding
    n = limit + 3 * 1024 * 1024 + 7  # i8 elements = bytes
    if n > wc.limits["max-buffer-size"]:
        pytest.skip(f"max-buffer-size {wc.limits['max-buffer-size']} leaves no room past the binding limit")
    x = wc.arange(n, dtype="i8")  # x[i] = i mod 256 as i8 (wrapping)

    def ref(lo: int, hi: int, step: int = 1) -> np.ndarray:
        return (np.arange(lo, hi, step, dtype=np.int64) % 256).astype(np.uint8).view(np.int8)

    assert x.storage.big and x.storage.nbytes == _words(n)
    for lo in (limit - 9, limit - 2, limit + 1, n - 11):
        np.testing.assert_array_equal(x[lo : lo + 11].numpy(), ref(lo, lo + 11))
    y = wc.add(x[1:], x[:-1])  # two odd-offset big views
    assert y.storage.big and y.numel == n - 1
    for lo in (0, limit - 7, limit + 3, n - 12):
        np.testing.assert_array_equal(y[lo : lo + 11].numpy(), ref(lo + 1, lo + 12) + ref(lo, lo + 11))
    y[limit - 3 : limit + 5 : 3] = -7  # strided fill straddling the window boundary
    np.testing.assert_array_equal(y[limit - 3 : limit + 5].numpy()[::3], np.full(3, -7, np.int8))
    np.testing.assert_array_equal(y[limit - 2 : limit].numpy(), ref(limit - 1, limit + 1) + ref(limit - 2, limit))
    assert wc.max(x[limit - 5 : limit + 200]).item() == 127
    del x, y
    gc.collect()
    wc.pool.trim()
