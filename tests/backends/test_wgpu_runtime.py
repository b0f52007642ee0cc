"""WebGPU runtime tests: allocator, caches, batching, big tensors, dtype refusal, errors, Philox.

Runs on any wgpu adapter (CI: Mesa lavapipe); skipped when wgpu cannot load.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import boostr
from boostr import dtype as _dt
from boostr.errors import InvalidArgument, KernelCompileError, UnsupportedDType
from boostr.runtime.registry import backend_status

pytestmark = pytest.mark.skipif(backend_status("wgpu") is not None, reason=f"wgpu: {backend_status('wgpu')}")


@pytest.fixture(scope="module")
def wc():  # type: ignore[no-untyped-def]
    return boostr.get_client("wgpu")


@pytest.fixture(scope="module")
def cpu():  # type: ignore[no-untyped-def]
    return boostr.get_client("cpu")


def test_info_names_adapter_and_limits(wc) -> None:  # type: ignore[no-untyped-def]
    info = wc.info()
    assert info["adapter"] and info["backend"]
    assert info["limits"]["max-storage-buffer-binding-size"] > 0
    assert set(info["features"]) <= {"shader-f16", "subgroup", "timestamp-query"}


def test_allocator_reuses_freed_buffers(wc) -> None:  # type: ignore[no-untyped-def]
    x = wc.empty(1000, dtype="f32")
    buf = x.storage.buffer
    del x
    gc.collect()
    reused = wc.pool.reused
    y = wc.empty(990, dtype="f32")  # same size class
    assert wc.pool.reused == reused + 1
    assert y.storage.buffer is buf


def test_pipeline_cache_hit(wc) -> None:  # type: ignore[no-untyped-def]
    x = wc.from_numpy(np.arange(6, dtype=np.float32))
    wc.exp(x)
    made = wc.engine.stats["pipelines"]
    wc.exp(wc.from_numpy(np.ones(9, np.float32)))
    assert wc.engine.stats["pipelines"] == made


def test_dispatches_are_batched_until_read(wc) -> None:  # type: ignore[no-untyped-def]
    x = wc.from_numpy(np.ones(64, np.float32))
    wc.sync()
    submits = wc.engine.stats["submits"]
    y = x
    for _ in range(20):
        y = wc.add(y, 1.0)
    assert wc.engine.pending >= 20
    assert wc.engine.stats["submits"] == submits
    np.testing.assert_array_equal(y.numpy(), np.full(64, 21, np.float32))
    assert wc.engine.stats["submits"] == submits + 1


def test_bind_groups_are_cached(wc) -> None:  # type: ignore[no-untyped-def]
    x = wc.from_numpy(np.ones(64, np.float32))
    out = wc.add(x, 1.0)
    made = wc.engine.stats["bind_groups"]
    wc._k_binary("add", x, 2.0, out)
    assert wc.engine.stats["bind_groups"] == made
    np.testing.assert_array_equal(out.numpy(), np.full(64, 3, np.float32))


def test_tensor_over_binding_limit(wc) -> None:  # type: ignore[no-untyped-def]
    limit = wc.max_binding
    n = limit // 4 + 3 * 1024 * 1024 + 7  # f32 elements: more bytes than one binding holds
    x = wc.full((n,), 1.0, dtype="f32")
    y = wc.add(x, 2.0)
    assert y.storage.buffer.size > limit
    assert abs(wc.sum(y).item() - 3.0 * n) <= 1e-6 * 3 * n
    np.testing.assert_array_equal(y[n - 5 :].numpy(), np.full(5, 3, np.float32))
    y[n - 3 :] = 7.0  # strided fill at the far end
    assert wc.max(y).item() == 7.0 and wc.argmax(y).item() == n - 3
    d = 1024
    table = wc.arange(n - n % d, dtype="f32").reshape(-1, d)
    rows = np.array([table.shape[0] - 1, 0, table.shape[0] // 2], np.int32)
    got = wc.index_select(table, 0, wc.from_numpy(rows)).numpy()
    want = (rows[:, None].astype(np.float64) * d + np.arange(d)).astype(np.float32)
    np.testing.assert_array_equal(got, want)
    v = wc.full((1, table.shape[0]), 1.0, dtype="f32")
    col = wc.matmul(v, table).numpy()  # b larger than a binding
    ref = np.float64(table.shape[0]) * (table.shape[0] - 1) / 2 * d + table.shape[0] * np.arange(d)
    np.testing.assert_allclose(col[0], ref, rtol=1e-4)  # f32 serial sums of ~36k terms


def test_refuses_f64_and_i64(wc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsupportedDType):
        wc.from_numpy(np.ones(3), "f64")
    with pytest.raises(UnsupportedDType):
        wc.zeros(3, dtype="i64")


def test_int64_arrays_upload_as_i32(wc) -> None:  # type: ignore[no-untyped-def]
    t = wc.from_numpy(np.array([1, -2, 3], np.int64))
    assert t.dtype is _dt.i32 and t.numpy().tolist() == [1, -2, 3]
    with pytest.raises(InvalidArgument):
        wc.from_numpy(np.array([2**40], np.int64))


def test_f16_refused_without_shader_f16() -> None:
    from boostr.runtime.wgpu.client import WgpuClient

    masked = WgpuClient(0, mask_features=frozenset({"shader-f16"}))
    assert not masked.has_f16
    with pytest.raises(UnsupportedDType):
        masked.from_numpy(np.ones(3, np.float16))
    x = masked.from_numpy(np.ones(4, np.float32))
    np.testing.assert_array_equal(masked.cast(x, "bf16").numpy().astype(np.float32), np.ones(4, np.float32))


def test_compile_error_carries_numbered_source(wc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KernelCompileError) as err:
        wc.engine.kernel("broken", "fn main( {}", "main", "w")
    assert "    1  fn main( {}" in str(err.value)


def test_philox_bits_match_cpu(wc, cpu) -> None:  # type: ignore[no-untyped-def]
    for lo, hi, dt in ((0, 2**32, "u32"), (-7, 1000, "i32")):
        g1, g2 = boostr.Generator(2**40 + 5), boostr.Generator(2**40 + 5)
        g1.offset = g2.offset = 2**33 + 1
        a = wc.randint(lo, hi, (4099,), dtype=dt, generator=g1).numpy()
        b = cpu.randint(lo, hi, (4099,), dtype=dt, generator=g2).numpy()
        np.testing.assert_array_equal(a, b)
    g1, g2 = boostr.Generator(11), boostr.Generator(11)
    np.testing.assert_array_equal(wc.rand(777, generator=g1).numpy(), cpu.rand(777, generator=g2).numpy())
    np.testing.assert_allclose(wc.randn(777, generator=g1).numpy(), cpu.randn(777, generator=g2).numpy(), atol=1e-5)


@pytest.mark.parametrize("dt", ["f32", "f16", "bf16", "fp8_e4m3", "fp8_e5m2", "i32", "u32", "bool"])
def test_strided_copy_roundtrip(wc, cpu, dt) -> None:  # type: ignore[no-untyped-def]
    if dt not in {d.name for d in wc.storage_dtypes}:
        pytest.skip(f"{dt} not offered by this adapter")
    base = np.random.default_rng(0).normal(size=(6, 10)) * 50
    src = cpu.from_numpy(base.astype(np.float32))
    want_full = cpu.cast(src, dt)
    want = cpu.contiguous(want_full.T[1:8:3]).numpy()
    w = wc.from_numpy(cpu.to_numpy(want_full))
    np.testing.assert_array_equal(wc.contiguous(w.T[1:8:3]).numpy(), want)
    dst = wc.zeros(6, 10, dtype=dt)
    dst[1:5, 2:9:2] = w[1:5, 2:9:2]
    ref = cpu.zeros(6, 10, dtype=dt)
    ref[1:5, 2:9:2] = want_full[1:5, 2:9:2]
    np.testing.assert_array_equal(dst.numpy(), ref.numpy())


@pytest.mark.parametrize("dt", ["f32", "bf16", "f16"])
def test_hooks_match_cpu(wc, cpu, dt) -> None:  # type: ignore[no-untyped-def]
    if dt not in {d.name for d in wc.compute_dtypes}:
        pytest.skip(f"{dt} not offered by this adapter")
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5, 70)).astype(np.float32)
    b = rng.normal(size=(70, 33)).astype(np.float32)
    tol = 1e-5 if dt == "f32" else 2e-2
    x, y = (wc.cast(wc.from_numpy(v), dt) for v in (a, b))
    xc, yc = (cpu.cast(cpu.from_numpy(v), dt) for v in (a, b))
    for name, fn in (
        ("matmul", lambda c, p, q: c.matmul(p, q)),
        ("softmax", lambda c, p, q: c.softmax(p, -1)),
        ("rms_norm", lambda c, p, q: c.rms_norm(p)),
        ("layer_norm", lambda c, p, q: c.layer_norm(p)),
        ("cumsum", lambda c, p, q: c.cumsum(p, 1)),
        ("sum", lambda c, p, q: c.sum(p, 0)),
        ("gelu", lambda c, p, q: c.gelu(p)),
        ("sort", lambda c, p, q: c.sort(p, -1)[1]),
        ("gather", lambda c, p, q: c.gather(q, 0, c.argsort(q, 0))),
    ):
        got = np.asarray(fn(wc, x, y).numpy(), np.float32)
        want = np.asarray(fn(cpu, xc, yc).numpy(), np.float32)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=f"{name} {dt}")
