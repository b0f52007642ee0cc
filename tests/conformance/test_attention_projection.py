"""Fused QKV / output projections (forward and backward) on every backend vs float64 numpy, with finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from boostr import dtype as _dt
from boostr.errors import InvalidArgument
from boostr.testing.tolerances import assert_close

# (B, S, d_model, H, Hkv, D)
SHAPES = [(2, 5, 24, 4, 2, 8), (1, 7, 16, 4, 1, 16), (1, 3, 32, 2, 2, 16)]


def qkv_ref(x, w, b, h, hkv, d):  # type: ignore[no-untyped-def]
    y = x.astype(np.float64) @ w.astype(np.float64).T + (0.0 if b is None else b.astype(np.float64))
    y = y.reshape(x.shape[0], x.shape[1], h + 2 * hkv, d).transpose(0, 2, 1, 3)
    return y[:, :h], y[:, h : h + hkv], y[:, h + hkv :]


def out_ref(a, w, r, b):  # type: ignore[no-untyped-def]
    bsz, h, s, d = a.shape
    y = a.astype(np.float64).transpose(0, 2, 1, 3).reshape(bsz, s, h * d) @ w.astype(np.float64).T
    return y + r + (0.0 if b is None else b)


def _rand(rng, *shape):  # type: ignore[no-untyped-def]
    return rng.standard_normal(shape).astype(np.float32)


def _fd(loss, params, dirs, eps=1e-5):  # type: ignore[no-untyped-def]
    plus = loss([p + eps * u for p, u in zip(params, dirs)])
    minus = loss([p - eps * u for p, u in zip(params, dirs)])
    return (plus - minus) / (2 * eps)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_qkv_projection_fwd_bwd(client, shape, bias):  # type: ignore[no-untyped-def]
    bsz, s, dm, h, hkv, d = shape
    n = (h + 2 * hkv) * d
    rng = np.random.default_rng(0)
    x, w, b = _rand(rng, bsz, s, dm), _rand(rng, n, dm) / 4, _rand(rng, n)
    q, k, v = client.fused_qkv_projection(
        client.from_numpy(x), client.from_numpy(w), client.from_numpy(b) if bias else None, h, hkv, d
    )
    assert q.shape == (bsz, h, s, d) and k.shape == v.shape == (bsz, hkv, s, d)
    for got, want in zip((q, k, v), qkv_ref(x, w, b if bias else None, h, hkv, d)):
        assert_close(got.numpy(), want, _dt.f32, client.device_name, scale=10)
    gq, gk, gv = (_rand(rng, *t.shape) for t in (q, k, v))
    dx, dw, db = client.fused_qkv_projection_bwd(
        *(client.from_numpy(g) for g in (gq, gk, gv)), client.from_numpy(x), client.from_numpy(w)
    )
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == (n,)
    gy = np.concatenate([g.transpose(0, 2, 1, 3) for g in (gq, gk, gv)], 2).reshape(bsz, s, n).astype(np.float64)
    assert_close(dx.numpy(), gy @ w, _dt.f32, client.device_name, scale=10)
    assert_close(dw.numpy(), gy.reshape(-1, n).T @ x.reshape(-1, dm), _dt.f32, client.device_name, scale=10)
    assert_close(db.numpy(), gy.sum((0, 1)), _dt.f32, client.device_name, scale=10)
    params = [x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)]
    dirs = [rng.standard_normal(p.shape) for p in params]

    def loss(ps):  # type: ignore[no-untyped-def]
        return sum(float(np.sum(o * g)) for o, g in zip(qkv_ref(ps[0], ps[1], ps[2], h, hkv, d), (gq, gk, gv)))

    fd = _fd(loss, params, dirs)
    analytic = sum(float(np.sum(g.numpy().astype(np.float64) * u)) for g, u in zip((dx, dw, db), dirs))
    assert abs(fd - analytic) <= 1e-3 * max(1.0, abs(fd)), (fd, analytic)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_output_projection_fwd_bwd(client, shape, bias):  # type: ignore[no-untyped-def]
    bsz, s, dm, h, _hkv, d = shape
    rng = np.random.default_rng(1)
    a, w, r, b = _rand(rng, bsz, h, s, d), _rand(rng, dm, h * d) / 4, _rand(rng, bsz, s, dm), _rand(rng, dm)
    y = client.fused_output_projection(
        client.from_numpy(a), client.from_numpy(w), client.from_numpy(r), client.from_numpy(b) if bias else None
    )
    assert y.shape == (bsz, s, dm)
    assert_close(y.numpy(), out_ref(a, w, r, b if bias else None), _dt.f32, client.device_name, scale=10)
    g = _rand(rng, bsz, s, dm)
    gt = client.from_numpy(g)
    da, dw, db, dr = client.fused_output_projection_bwd(gt, client.from_numpy(a), client.from_numpy(w))
    assert da.shape == a.shape and dw.shape == w.shape and db.shape == (dm,) and dr.shape == r.shape
    g64 = g.astype(np.float64)
    want_da = (g64 @ w).reshape(bsz, s, h, d).transpose(0, 2, 1, 3)
    assert_close(da.numpy(), want_da, _dt.f32, client.device_name, scale=10)
    a2 = a.astype(np.float64).transpose(0, 2, 1, 3).reshape(-1, h * d)
    assert_close(dw.numpy(), g64.reshape(-1, dm).T @ a2, _dt.f32, client.device_name, scale=10)
    assert_close(db.numpy(), g64.sum((0, 1)), _dt.f32, client.device_name, scale=10)
    assert_close(dr.numpy(), g64, _dt.f32, client.device_name)
    params = [a.astype(np.float64), w.astype(np.float64), b.astype(np.float64), r.astype(np.float64)]
    dirs = [rng.standard_normal(p.shape) for p in params]
    fd = _fd(lambda ps: float(np.sum(out_ref(ps[0], ps[1], ps[3], ps[2]) * g)), params, dirs)
    analytic = sum(float(np.sum(t.numpy().astype(np.float64) * u)) for t, u in zip((da, dw, db, dr), dirs))
    assert abs(fd - analytic) <= 1e-3 * max(1.0, abs(fd)), (fd, analytic)


@pytest.mark.parametrize("dt", [_dt.f16, _dt.bf16], ids=str)
def test_projections_half(client, dt):  # type: ignore[no-untyped-def]
    if dt not in client.compute_dtypes:
        pytest.skip(f"{dt} not computed on {client.device_name}")
    bsz, s, dm, h, hkv, d = SHAPES[0]
    rng = np.random.default_rng(2)
    x, w, b = (client.from_numpy(t, dt) for t in (_rand(rng, bsz, s, dm), _rand(rng, 64, dm) / 4, _rand(rng, 64)))
    q, k, v = client.fused_qkv_projection(x, w, b, h, hkv, d)
    for got, want in zip((q, k, v), qkv_ref(x.numpy(), w.numpy(), b.numpy(), h, hkv, d)):
        assert got.dtype is dt
        assert_close(got.numpy().astype(np.float64), want, dt, client.device_name, scale=10)
    wo, r = client.from_numpy(_rand(rng, dm, h * d) / 4, dt), client.from_numpy(_rand(rng, bsz, s, dm), dt)
    y = client.fused_output_projection(q, wo, r)
    want = out_ref(q.numpy(), wo.numpy(), r.numpy().astype(np.float64), None)
    assert y.dtype is dt
    assert_close(y.numpy().astype(np.float64), want, dt, client.device_name, scale=10)


def test_projection_bad_inputs(client):  # type: ignore[no-untyped-def]
    x, w = client.zeros(1, 3, 16), client.zeros(64, 16)
    with pytest.raises(InvalidArgument, match="num_kv_heads"):
        client.fused_qkv_projection(x, w, None, 3, 2, 8)
    with pytest.raises(InvalidArgument, match="w_qkv"):
        client.fused_qkv_projection(x, w, None, 4, 2, 4)
    with pytest.raises(InvalidArgument, match="b_qkv"):
        client.fused_qkv_projection(x, w, client.zeros(63), 4, 2, 8)
    with pytest.raises(InvalidArgument, match="head_dim"):
        client.fused_qkv_projection(x, w, None, 4, 2, 0)
    with pytest.raises(InvalidArgument, match="'x'"):
        client.fused_qkv_projection(client.zeros(3, 16), w, None, 4, 2, 8)
    q, k = client.zeros(1, 4, 3, 8), client.zeros(1, 2, 3, 8)
    with pytest.raises(InvalidArgument, match="'dv'"):
        client.fused_qkv_projection_bwd(q, k, client.zeros(1, 2, 4, 8), x, w)
    a = client.zeros(1, 4, 3, 8)
    with pytest.raises(InvalidArgument, match="w_o"):
        client.fused_output_projection(a, client.zeros(16, 31), client.zeros(1, 3, 16))
    with pytest.raises(InvalidArgument, match="residual"):
        client.fused_output_projection(a, client.zeros(16, 32), client.zeros(1, 4, 16))
    with pytest.raises(InvalidArgument, match="b_o"):
        client.fused_output_projection(a, client.zeros(16, 32), client.zeros(1, 3, 16), client.zeros(15))
    with pytest.raises(InvalidArgument, match="dout"):
        client.fused_output_projection_bwd(client.zeros(1, 3, 15), a, client.zeros(16, 32))
