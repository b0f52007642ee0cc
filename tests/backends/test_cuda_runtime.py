"""CUDA backend: clean unavailability without a GPU; with one, every hook against the CPU backend."""

from __future__ import annotations

import numpy as np
import pytest

import boostr
from boostr import dtype as _dt
from boostr.errors import BackendUnavailable
from boostr.ops.cuda._util import coalesce, layout, scalar_bits
from boostr.runtime import cuda as cuda_rt
from boostr.runtime.registry import available_backends, backend_status

REASON = cuda_rt.probe()
gpu = pytest.mark.skipif(REASON is not None, reason=f"cuda unavailable: {REASON}")


# ------------------------------------------------------------------ no GPU needed
def test_probe_reason_or_none() -> None:
    assert REASON is None or (isinstance(REASON, str) and REASON)
    assert backend_status("cuda") == REASON
    assert ("cuda" in available_backends()) == (REASON is None)


@pytest.mark.skipif(REASON is None, reason="a CUDA device is present")
def test_unavailable_raises_with_reason() -> None:
    with pytest.raises(BackendUnavailable, match="cuda"):
        boostr.get_client("cuda")
    cpu = boostr.get_client("cpu")
    assert cpu.add(cpu.from_numpy([1.0]), 1.0).tolist() == [2.0]


def test_coalesce_merges_contiguous_dims() -> None:
    assert coalesce((2, 3, 4), [(12, 4, 1)]) == ([24], [[1]])
    assert coalesce((2, 1, 4), [(4, 99, 1), (0, 5, 1)]) == ([2, 4], [[4, 1], [0, 1]])
    shape, st = coalesce((2, 3, 4), [(24, 8, 2)])
    assert shape == [24] and st == [[2]]
    assert coalesce((2, 3), [(1, 2)]) == ([2, 3], [[1, 2]])


def test_layout_struct_and_limits() -> None:
    buf = layout((5, 6), [(6, 1), (0, 1)]).buf
    assert buf[0] == 2 and list(buf[1:3]) == [5, 6]
    assert list(buf[17:19]) == [6, 1] and list(buf[33:35]) == [0, 1]
    with pytest.raises(boostr.errors.InvalidArgument):
        layout((2,) * 17, [tuple(2**i for i in range(17))], merge=False)


def test_scalar_bits() -> None:
    assert scalar_bits(1.0, _dt.bf16) == 0x3F80
    assert scalar_bits(1000.0, _dt.fp8_e4m3) == 0x7E  # saturates at 448
    assert scalar_bits(-1.0, _dt.f64) == np.array(-1.0).view(np.int64)
    assert scalar_bits(True, _dt.bool_) == 1 and scalar_bits(-1, _dt.i8) == 0xFF


# ------------------------------------------------------------------- GPU: vs CPU
@pytest.fixture(scope="module")
def cc():  # type: ignore[no-untyped-def]
    return boostr.get_client("cuda"), boostr.get_client("cpu")


def _same(c, x, y, tol=0.0):  # type: ignore[no-untyped-def]
    a = np.asarray(c[0].to_numpy(x)).astype(np.float64)
    b = np.asarray(c[1].to_numpy(y)).astype(np.float64)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def _pair(c, arr, dt):  # type: ignore[no-untyped-def]
    return c[0].from_numpy(arr, dt), c[1].from_numpy(arr, dt)


VALS = np.array(
    [[0.0, -0.0, 1.5, -2.25, 3e5, -7e-3, np.inf, -np.inf], [np.nan, 0.1, 448.0, 500.0, -1e-6, 2.0, 6e4, 1.0]]
)


@gpu
@pytest.mark.parametrize("src", [d.name for d in _dt.ALL_DTYPES])
def test_cast_every_pair(cc, src) -> None:  # type: ignore[no-untyped-def]
    s = _dt.dtype(src)
    base = VALS if s.is_float else np.arange(-8, 8).reshape(2, 8) * 3
    if s.kind == "u":
        base = np.abs(base)
    g, h = _pair(cc, base, s)
    for dst in _dt.ALL_DTYPES:
        if dst.is_int and s.is_float:
            g2, h2 = _pair(cc, np.nan_to_num(VALS.clip(-100, 100), nan=3.0, posinf=5, neginf=-5), s)
            if dst.kind == "u":
                g2, h2 = _pair(cc, np.abs(np.nan_to_num(VALS.clip(-100, 100), nan=3.0, posinf=5, neginf=-5)), s)
            _same(cc, g2.cast(dst), h2.cast(dst))
            continue
        _same(cc, g.cast(dst), h.cast(dst))
        _same(cc, g.T.cast(dst), h.T.cast(dst))  # strided source


@gpu
def test_fill_arange_random_bits(cc) -> None:  # type: ignore[no-untyped-def]
    g, h = cc
    for dt in _dt.ALL_DTYPES:
        v = True if dt is _dt.bool_ else (3 if dt.is_int else -1.75)
        _same(cc, g.full((3, 5), v, dt), h.full((3, 5), v, dt))
        _same(
            cc,
            g.arange(0, 20, 3, dtype=dt if dt.kind != "b" else "i64"),
            h.arange(0, 20, 3, dtype=dt if dt.kind != "b" else "i64"),
        )
    _same(cc, g.eye(4, 6), h.eye(4, 6))
    for dt in ("f32", "f64", "bf16", "f16"):
        for fn in ("rand", "randn"):
            a = getattr(g, fn)(1000, dtype=dt, generator=boostr.ops.traits.creation.Generator(7))
            b = getattr(h, fn)(1000, dtype=dt, generator=boostr.ops.traits.creation.Generator(7))
            _same(cc, a, b, 1e-6 if dt == "f64" else 0.0)
    a = g.randint(-5, 2**20, (999,), generator=boostr.ops.traits.creation.Generator(2**63 + 5))
    b = h.randint(-5, 2**20, (999,), generator=boostr.ops.traits.creation.Generator(2**63 + 5))
    _same(cc, a, b)


@gpu
@pytest.mark.parametrize("dt", ["f64", "f32", "f16", "bf16", "i64", "i32", "i16", "i8", "u8", "u32", "bool"])
def test_elementwise(cc, dt) -> None:  # type: ignore[no-untyped-def]
    g, h = cc
    d = _dt.dtype(dt)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 33)) * 3 if d.is_float else rng.integers(0 if d.kind in "ub" else -50, 50, (4, 33))
    b = rng.normal(size=(33,)) * 3 if d.is_float else rng.integers(1, 5, (33,))
    if d.kind == "b":
        a, b = a % 2, b % 2
    tol = {"f16": 2e-3, "bf16": 1.6e-2, "f32": 1e-5, "f64": 1e-12}.get(dt, 0.0)
    ga, ha = _pair(cc, a, d)
    gb, hb = _pair(cc, b, d)
    for op in boostr.runtime.hooks.BINARY_OPS:
        if (d.kind == "b" and op in boostr.runtime.hooks.ARITH_BINARY_OPS) or (op == "pow" and not d.is_float):
            continue
        _same(cc, g.binary(op, ga, gb), h.binary(op, ha, hb), tol)
        _same(cc, g.binary(op, ga.T[:5].T, 2), h.binary(op, ha.T[:5].T, 2), tol)
        _same(cc, g.binary(op, 3, ga), h.binary(op, 3, ha), tol)
    if d.kind == "b":
        _same(cc, g.logical_not(ga), h.logical_not(ha))
        return
    for op in boostr.runtime.hooks.UNARY_OPS:
        if op == "logical_not" or (op == "neg" and d.kind == "u"):
            continue
        x, y = (ga.abs(), ha.abs()) if op in ("sqrt", "rsqrt", "log") else (ga, ha)
        utol = max(tol, 1e-5) if d.is_float or op in boostr.runtime.hooks.FLOAT_UNARY_OPS else 0
        _same(cc, g._unary(op, x), h._unary(op, y), utol)
        _same(cc, g._unary(op, x.T), h._unary(op, y.T), utol)
    lo = 1 if d.kind == "u" else -1
    _same(cc, g.clamp(ga, lo, 20), h.clamp(ha, lo, 20), tol)
    _same(cc, g.where(g.gt(ga, 0), ga, gb), h.where(h.gt(ha, 0), ha, hb), tol)
    _same(cc, g.masked_fill(ga, g.gt(ga, 0), 7), h.masked_fill(ha, h.gt(ha, 0), 7))
    if d.is_float:
        _same(cc, g.fma(ga, gb, ga.T.contiguous().T), h.fma(ha, hb, ha), tol)


@gpu
@pytest.mark.parametrize("dt", ["f64", "f32", "f16", "bf16", "i64", "i32", "u8", "bool"])
@pytest.mark.parametrize("shape", [(3, 7), (2, 100_000), (300, 5)])
def test_reductions(cc, dt, shape) -> None:  # type: ignore[no-untyped-def]
    g, h = cc
    d = _dt.dtype(dt)
    rng = np.random.default_rng(1)
    a = rng.normal(size=shape) if d.is_float else rng.integers(0, 3 if d.kind == "b" else 100, shape)
    if d.is_float:
        a[0, 2] = np.nan
        a[1, 1] = a[1, 3] = a.max() + 1
    ga, ha = _pair(cc, a, d)
    tol = {"f16": 5e-2, "bf16": 2e-1, "f32": 1e-3, "f64": 1e-9}.get(dt, 0.0) * (shape[1] ** 0.5)
    for op in ("sum", "max", "min", "argmax", "argmin", "any", "all") + (("prod",) if shape[1] < 10 else ()):
        if d.kind == "b" and op in ("sum", "prod"):
            continue
        _same(cc, getattr(g, op)(ga, 1), getattr(h, op)(ha, 1), tol if op in ("sum", "prod") else 0)
    if d.is_float:
        _same(cc, g.cumsum(ga, 1), h.cumsum(ha, 1), tol)
        for fn in ("softmax", "log_softmax"):
            _same(cc, getattr(g, fn)(ga, -1), getattr(h, fn)(ha, -1), 2e-2 if d.is_half else 1e-5)
        w, wh = _pair(cc, rng.normal(size=shape[1]), d)
        _same(cc, g.rms_norm(ga, w), h.rms_norm(ha, wh), 3e-2 if d.is_half else 1e-4)
        _same(cc, g.layer_norm(ga, w, w), h.layer_norm(ha, wh, wh), 3e-2 if d.is_half else 1e-4)
        for x, y in zip(g.add_rms_norm(ga, ga, w), h.add_rms_norm(ha, ha, wh)):
            _same(cc, x, y, 3e-2 if d.is_half else 1e-4)
    else:
        _same(cc, g.cumsum(ga, 1), h.cumsum(ha, 1))


@gpu
@pytest.mark.parametrize("dt", ["f64", "f32", "f16", "bf16", "i64", "i16", "u8", "bool"])
def test_sort_topk(cc, dt) -> None:  # type: ignore[no-untyped-def]
    g, h = cc
    d = _dt.dtype(dt)
    rng = np.random.default_rng(2)
    a = rng.integers(-3, 4, (5, 301)).astype(np.float64)
    if d.is_float:
        a[0, [3, 9]] = np.nan
        a[1, 4] = -0.0
    elif d.kind in "ub":
        a = np.abs(a) % (2 if d.kind == "b" else 256)
    ga, ha = _pair(cc, a, d)
    for desc in (False, True):
        for x, y in zip(g.sort(ga, -1, desc), h.sort(ha, -1, desc)):
            _same(cc, x, y)
        for x, y in zip(g.topk(ga, 17, -1, desc), h.topk(ha, 17, -1, desc)):
            _same(cc, x, y)


@gpu
@pytest.mark.parametrize("dt", ["f32", "f16", "bf16", "f64"])
@pytest.mark.parametrize("mnk", [(64, 48, 40), (130, 257, 129), (1, 8, 16)])
def test_matmul(cc, dt, mnk) -> None:  # type: ignore[no-untyped-def]
    g, h = cc
    m, n, k = mnk
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, m, k)), rng.normal(size=(k, n))
    ga, ha = _pair(cc, a, dt)
    gb, hb = _pair(cc, b, dt)
    tol = {"f16": 3e-2, "bf16": 1e-1, "f32": 1e-3, "f64": 1e-9}[dt] * k**0.5
    _same(cc, g.matmul(ga, gb), h.matmul(ha, hb), tol)
    _same(cc, g.matmul(ga, gb.T.contiguous().T), h.matmul(ha, hb), tol)  # B given N-major
    _same(cc, g.matmul(ga[:, :, : k // 2], gb[: k // 2]), h.matmul(ha[:, :, : k // 2], hb[: k // 2]), tol)


@gpu
@pytest.mark.parametrize("dt", ["f32", "bf16", "fp8_e4m3", "i64", "u8", "bool"])
def test_indexing(cc, dt) -> None:  # type: ignore[no-untyped-def]
    g, h = cc
    d = _dt.dtype(dt)
    rng = np.random.default_rng(4)
    x = rng.integers(0, 2 if d.kind == "b" else 50, (6, 5, 4))
    gx, hx = _pair(cc, x, d)
    idx = rng.integers(-6, 6, (3,))
    _same(cc, g.index_select(gx, 0, idx), h.index_select(hx, 0, idx))
    _same(cc, g.index_select(gx, 2, [3, 0, 3]), h.index_select(hx, 2, [3, 0, 3]))
    gi = rng.integers(0, 5, (6, 5, 4))
    _same(cc, g.gather(gx, 1, gi), h.gather(hx, 1, gi))
    src_np = rng.integers(0, 2 if d.kind == "b" else 9, (6, 5, 4))
    gs, hs = _pair(cc, src_np, d)
    _same(cc, g.scatter(gx, 1, gi[:, :1], gs), h.scatter(hx, 1, gi[:, :1], hs))
    if not d.is_fp8:
        _same(cc, g.scatter_add(gx, 1, gi, gs), h.scatter_add(hx, 1, gi, hs), 1e-5 if d.is_float else 0)
    out = g.index_select(gx, 0, [100, -100])  # clamped on the GPU: rows 5 and 0
    _same(cc, out, h.index_select(hx, 0, [5, 0]))


@gpu
def test_no_transfers_inside_ops_and_info(cc) -> None:  # type: ignore[no-untyped-def]
    g, _ = cc
    x = g.randn(64, 64, dtype="bf16")
    with g.count_transfers() as seen:
        y = g.softmax(g.add(x, 1.0))
        g.matmul(y, x)
        g.sort(y)
        g.sum(g.cast(y, "f32"))
    assert seen.total == 0
    info = g.info()
    assert info["compute_capability"] and info["cupy"] and info["name"]
    t = g.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))
    import cupy

    assert cupy.from_dlpack(t).get().tolist() == [[0, 1, 2], [3, 4, 5]]
    assert g.from_dlpack(cupy.arange(4, dtype=cupy.float32)).tolist() == [0, 1, 2, 3]
