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
    reused, created = wc.pool.reused, wc.pool.created
    y = wc.empty(990, dtype="f32")  # same size class: served from the pool, nothing new created
    assert wc.pool.reused == reused + 1
    assert wc.pool.created == created
    # earlier tests may have left other free buffers of this class; ours is reusable too
    assert y.storage.buffer is buf or any(b is buf for bs in wc.pool._free.values() for b in bs)


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


@pytest.mark.parametrize("dt", ["f32", "f16", "bf16", "fp8_e4m3", "fp8_e5m2", "i32", "u32", "i8", "u8", "bool"])
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


# ---------------------------------------------------------------- launch plans, arena, bind groups
def test_launch_plans_replay_with_new_buffers_and_aliasing(wc) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2)
    a_np, b_np = rng.normal(size=(2, 37)).astype(np.float32), rng.normal(size=(2, 37)).astype(np.float32)
    a, b = wc.from_numpy(a_np), wc.from_numpy(b_np)
    np.testing.assert_allclose(wc.add(a, a).numpy(), a_np + a_np)  # plan made with both inputs aliased
    np.testing.assert_allclose(wc.add(a, b).numpy(), a_np + b_np)  # same key, different buffers
    np.testing.assert_allclose(wc.add(b, b).numpy(), b_np + b_np)
    plans = len(wc._plans)
    for _ in range(3):
        np.testing.assert_allclose(wc.mul(b, a).numpy(), b_np * a_np)
    assert len(wc._plans) == plans + 1
    t = wc.from_numpy(rng.normal(size=(37, 2)).astype(np.float32)).T  # same shape, other strides: own plan
    np.testing.assert_allclose(wc.add(a, t).numpy(), a_np + t.numpy())


def test_parameters_are_interned_in_the_arena(wc) -> None:  # type: ignore[no-untyped-def]
    x = wc.from_numpy(np.ones((4, 64), np.float32))
    for _ in range(2):
        wc.softmax(wc.add(x, 3.0), -1)
        wc.sync()
    stats = dict(wc.engine.stats)
    for _ in range(5):
        y = wc.softmax(wc.add(x, 3.0), -1)
    np.testing.assert_allclose(y.numpy(), np.full((4, 64), 1 / 64, np.float32), rtol=1e-6)
    assert wc.engine.stats["param_blocks"] == stats["param_blocks"]
    assert wc.engine.stats["param_bytes_written"] == stats["param_bytes_written"]


def test_arena_wraps_around() -> None:
    from boostr.runtime.wgpu.client import WgpuClient

    c = WgpuClient(0)
    c.engine.capacity = 2048  # a few parameter blocks: the arena starts over many times below
    x = c.from_numpy(np.zeros(16, np.float32))
    outs = [c.add(x, float(i)) for i in range(40)]
    assert c.engine.generation > 3
    for i, o in enumerate(outs):
        assert o.numpy()[0] == i
    assert c.add(x, 5.0).numpy()[3] == 5.0  # a plan whose cached slot predates the wrap


def test_no_new_bind_groups_in_a_steady_loop(wc) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    w = [wc.from_numpy(rng.normal(size=(48, 32)).astype(np.float32)) for _ in range(3)]
    n = wc.from_numpy(np.ones(32, np.float32))

    def step(x):  # type: ignore[no-untyped-def]
        for m in w:
            h = wc.rms_norm(x, n)
            x = wc.add(x, wc.silu(wc.matmul(h, m.T))[:, :32])
        return x

    x0 = wc.from_numpy(rng.normal(size=(1, 32)).astype(np.float32))
    for _ in range(3):  # the pool settles on its working set; each buffer gets its bind groups once
        y = step(x0)
    made = wc.engine.stats["bind_groups"]
    for _ in range(4):
        y = step(x0)
    assert wc.engine.stats["bind_groups"] == made
    assert np.isfinite(y.numpy()).all()


def test_recording_through_wgpu_py_methods() -> None:
    from boostr.runtime.wgpu.client import WgpuClient

    c = WgpuClient(0)
    c.engine._raw = None  # BOOSTR_WGPU_RAW=0: wgpu-py's set_pipeline / set_bind_group / dispatch_workgroups
    a = c.from_numpy(np.arange(12, dtype=np.float32).reshape(3, 4))
    np.testing.assert_allclose(c.matmul(a, a.T).numpy(), a.numpy() @ a.numpy().T)
    np.testing.assert_allclose(c.sum(c.add(a, 1.0), 1).numpy(), (a.numpy() + 1).sum(1))


# ---------------------------------------------------------------- matmul / GEMV kernel variants
def _mm_pair(c, rng, shape_a, shape_b, dt, ta, tb):  # type: ignore[no-untyped-def]
    def make(shape, t):  # type: ignore[no-untyped-def]
        s = (*shape[:-2], shape[-1], shape[-2]) if t else shape
        x = c.cast(c.from_numpy(rng.uniform(-1, 1, size=s).astype(np.float32)), dt)
        return x.permute(*range(x.ndim - 2), x.ndim - 1, x.ndim - 2) if t else x

    return make(shape_a, ta), make(shape_b, tb)


@pytest.mark.parametrize("dt", ["f32", "f16", "bf16"])
@pytest.mark.parametrize(
    ("sa", "sb"),
    [((130, 68), (68, 132)), ((64, 32), (32, 64)), ((200, 17), (17, 70)), ((5, 70), (70, 33)), ((3, 256), (256, 8)),
     ((1, 96), (96, 300)), ((300, 96), (96, 1)), ((1, 35), (35, 9)), ((2, 3, 70, 64), (64, 40)),
     ((3, 1, 64), (3, 64, 40)), ((1, 1000), (1000, 300)), ((2, 1, 512), (2, 512, 96))],
)  # fmt: skip
def test_matmul_kernel_variants(wc, dt, sa, sb) -> None:  # type: ignore[no-untyped-def]
    """Tiles of 64 / 128 rows, vec4 / scalar loaders for either operand layout, vec4 / scalar stores, GEMVs."""
    if dt not in {d.name for d in wc.compute_dtypes}:
        pytest.skip(f"{dt} not offered by this adapter")
    rng = np.random.default_rng(4)
    for ta in (False, True):
        for tb in (False, True):
            a, b = _mm_pair(wc, rng, sa, sb, dt, ta, tb)
            want = np.asarray(wc.cast(a, "f32").numpy(), np.float64) @ np.asarray(wc.cast(b, "f32").numpy(), np.float64)
            got = np.asarray(wc.cast(wc.matmul(a, b), "f32").numpy(), np.float64)
            tol = {"f32": 2e-6, "f16": 2e-3, "bf16": 1e-2}[dt] * max(1.0, np.abs(want).max())
            np.testing.assert_allclose(got, want, atol=tol, err_msg=f"{dt} ta={ta} tb={tb}")


# ---------------------------------------------------------------- subgroup and tree reductions agree
@pytest.fixture(scope="module")
def no_sg():  # type: ignore[no-untyped-def]
    from boostr.runtime.wgpu.client import WgpuClient

    c = WgpuClient(0, mask_features=frozenset({"subgroup"}))
    assert not c.has_subgroups
    return c


@pytest.mark.parametrize("which", ["default", "no-subgroups"])
def test_row_kernels_with_and_without_subgroups(wc, no_sg, cpu, which) -> None:  # type: ignore[no-untyped-def]
    c = wc if which == "default" else no_sg
    rng = np.random.default_rng(5)
    for shape in ((3, 1000), (2, 20000), (5, 7), (1, 4096 * 3 + 4)):
        x_np = rng.normal(size=shape).astype(np.float32)
        x_np[0, shape[1] // 2] = np.nan if shape[0] > 2 else x_np[0, 0]
        x, xc = c.from_numpy(x_np), cpu.from_numpy(x_np)
        for name, fn in (
            ("sum", lambda k, t: k.sum(t, 1)), ("max", lambda k, t: k.max(t, 1)), ("min", lambda k, t: k.min(t, 1)),
            ("argmax", lambda k, t: k.argmax(t, 1)), ("argmin", lambda k, t: k.argmin(t, 1)),
            ("prod", lambda k, t: k.prod(k.add(k.mul(t, 1e-3), 1.0), 1)), ("softmax", lambda k, t: k.softmax(t, -1)),
            ("log_softmax", lambda k, t: k.log_softmax(t, -1)), ("rms_norm", lambda k, t: k.rms_norm(t)),
            ("layer_norm", lambda k, t: k.layer_norm(t)),
        ):  # fmt: skip
            got, want = fn(c, x).numpy(), fn(cpu, xc).numpy()
            np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4, err_msg=f"{which} {name} {shape}")
        i = c.from_numpy(rng.integers(-1000, 1000, size=shape).astype(np.int32))
        np.testing.assert_array_equal(c.sum(i, 1).numpy(), cpu.sum(cpu.from_numpy(i.numpy()), 1).numpy())
    v = rng.normal(size=(1, 520)).astype(np.float32)
    w = rng.normal(size=(70, 520)).astype(np.float32)
    np.testing.assert_allclose(c.matmul(c.from_numpy(v), c.from_numpy(w).T).numpy(), v @ w.T, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("rows", "cols"), [(3, 5000), (2, 1024), (1, 1025), (4, 3)])
def test_sort_local_and_global_stages(wc, cpu, rows, cols) -> None:  # type: ignore[no-untyped-def]
    """Rows longer than one workgroup block mix whole-buffer stages with in-block (workgroup memory) ones."""
    x = np.random.default_rng(6).integers(-40, 40, size=(rows, cols)).astype(np.float32)
    x[0, : min(5, cols)] = np.nan
    for desc in (False, True):
        v, i = wc.sort(wc.from_numpy(x), -1, descending=desc)
        vc, ic = cpu.sort(cpu.from_numpy(x), -1, descending=desc)
        np.testing.assert_array_equal(i.numpy(), ic.numpy())
        np.testing.assert_array_equal(v.numpy(), vc.numpy())


def test_div_is_correctly_rounded(wc) -> None:  # type: ignore[no-untyped-def]
    """f32 division equals IEEE division bit for bit (WGSL's `/` promises only 2.5 ULP; fdiv_rn divides
    the significands exactly), so composites like the KV quantizers give the CPU's codes."""
    rng = np.random.default_rng(5)
    a = (rng.uniform(-1, 1, 40000) * 10.0 ** rng.integers(-30, 30, 40000)).astype(np.float32)
    b = (rng.uniform(-1, 1, 40000) * 10.0 ** rng.integers(-30, 30, 40000)).astype(np.float32)
    a[:9] = [0.0, -0.0, 1.0, np.inf, 7.0, 3.0, 1e-40, -3e-39, 2.5]  # zeros, inf, exact, subnormal operands
    b[:9] = [3.0, 5.0, 0.0, 2.0, 7.0, 0.1, 1e-3, 7e-41, -1e-39]
    with np.errstate(all="ignore"):
        want = a / b
    got = wc.div(wc.from_numpy(a), wc.from_numpy(b)).numpy()
    normal = np.abs(want) >= np.finfo(np.float32).tiny  # subnormal quotients may flush on GPUs
    normal |= ~np.isfinite(want) | (want == 0)
    np.testing.assert_array_equal(got[normal].view(np.uint32), want[normal].view(np.uint32))
