"""Flash attention with ALiBi (``alibi_slopes=``) on every backend vs the float64 reference with an explicit bias."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boostr import dtype as _dt
from boostr.errors import InvalidArgument
from boostr.ops.generic import attention as gen_fwd
from boostr.ops.generic import attention_bwd as gen_bwd
from boostr.ops.generic.attention_mask import AttnSpec
from boostr.testing.attention_refs import (
    alibi_flash_bias_ref,
    alibi_slopes_ref,
    attention_bwd_ref,
    attention_mask,
    attention_ref,
)
from boostr.testing.tolerances import assert_close

# (B, H, Hkv, Sq, Sk, D, causal, window, kv_seq_len)
CASES = [
    (1, 4, 4, 7, 9, 32, False, 0, None),  # non-causal: |p_i - j| on both sides
    (2, 4, 1, 5, 5, 64, True, 0, None),
    (1, 6, 2, 13, 20, 32, True, 0, None),  # 6 heads: slopes of a non-power of 2
    (1, 2, 2, 6, 10, 64, False, 0, 7),  # kv_seq_len < Sk moves p_i
    (1, 4, 2, 12, 5, 32, True, 3, None),  # window + fully masked rows
    (1, 2, 1, 70, 140, 32, True, 0, None),  # several query tiles on the CPU kernel
    (2, 8, 2, 1, 40, 64, True, 0, None),  # decode
]

# ALiBi decode, Sq = 1 (split-K flash decoding on CUDA): (B, H, Hkv, Sk, D, causal, window, kv_seq_len)
DECODE = [
    (2, 32, 8, 1, 128, True, 0, None),  # context 1
    (1, 32, 8, 7, 64, False, 0, None),  # context 7, inside one key tile
    (2, 32, 1, 300, 128, True, 0, None),  # MQA: 32 rows of one KV head (two row groups on tensor cores)
    (1, 32, 8, 5000, 128, False, 0, None),  # many splits
    (1, 32, 8, 5000, 96, True, 0, 4097),  # kv_seq_len < Sk moves the query position
    (2, 16, 16, 300, 80, False, 0, 259),  # MHA, D 80, kv_seq_len < Sk
    (1, 32, 8, 300, 64, True, 100, None),  # window: the visible keys start past 0
]


def _inputs(case, seed=0):  # type: ignore[no-untyped-def]
    b, h, hkv, sq, sk, d = case[:6]
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((b, h, sq, d)).astype(np.float32),
        rng.standard_normal((b, hkv, sk, d)).astype(np.float32),
        rng.standard_normal((b, hkv, sk, d)).astype(np.float32),
    )


def _slopes(client, h):  # type: ignore[no-untyped-def]
    return client.alibi_slopes(h)


@pytest.mark.parametrize(
    ("case", "dt"),
    [(c, _dt.f32) for c in CASES] + [(c, t) for c in (CASES[2], CASES[6]) for t in (_dt.f16, _dt.f64)],
    ids=str,
)
def test_alibi_fwd(client, case, dt):  # type: ignore[no-untyped-def]
    if dt not in client.compute_dtypes:
        pytest.skip(f"{dt} not computed on {client.device_name}")
    b, h, _hkv, sq, sk, d, causal, window, kvl = case
    q, k, v = (client.from_numpy(a, dt) for a in _inputs(case))
    out, lse = client.flash_attention_fwd(
        q, k, v, causal=causal, window=window, kv_seq_len=kvl, alibi_slopes=_slopes(client, h)
    )
    bias = alibi_flash_bias_ref(alibi_slopes_ref(h), sq, sk, kvl)
    qn, kn, vn = (t.numpy().astype(np.float64) for t in (q, k, v))
    ro, rl = attention_ref(qn, kn, vn, causal, window, kvl, bias=bias)
    assert out.shape == (b, h, sq, d) and out.dtype is dt and lse.dtype is _dt.f32
    assert_close(out.numpy().astype(np.float64), ro, dt, client.device_name, scale=20)
    assert_close(lse.numpy(), rl, _dt.f32, client.device_name, scale=20)


def _decode_slopes(h: int, large: bool) -> np.ndarray:
    """f32 slopes: the standard series, or 1/64 .. 16 (the bias dominates the scores in the steep heads)."""
    return (np.geomspace(1.0 / 64, 16.0, h) if large else alibi_slopes_ref(h)).astype(np.float32)


@pytest.mark.parametrize(
    ("case", "dt", "large"),
    [(c, t, False) for c in DECODE for t in (_dt.f32, _dt.f16, _dt.bf16)]
    + [(c, t, True) for c in (DECODE[1], DECODE[3], DECODE[4]) for t in (_dt.f32, _dt.f16, _dt.bf16)],
    ids=str,
)
def test_alibi_decode(client, case, dt, large):  # type: ignore[no-untyped-def]
    if dt not in client.compute_dtypes:
        pytest.skip(f"{dt} not computed on {client.device_name}")
    b, h, hkv, sk, d, causal, window, kvl = case
    q, k, v = (client.from_numpy(a, dt) for a in _inputs((b, h, hkv, 1, sk, d)))
    sl = _decode_slopes(h, large)
    out, lse = client.flash_attention_fwd(
        q, k, v, causal=causal, window=window, kv_seq_len=kvl, alibi_slopes=client.from_numpy(sl)
    )
    bias = alibi_flash_bias_ref(sl.astype(np.float64), 1, sk, kvl)
    qn, kn, vn = (t.numpy().astype(np.float64) for t in (q, k, v))
    ro, rl = attention_ref(qn, kn, vn, causal, window, kvl, bias=bias)
    assert out.shape == (b, h, 1, d) and out.dtype is dt and lse.shape == (b, h, 1) and lse.dtype is _dt.f32
    assert_close(out.numpy().astype(np.float64), ro, dt, client.device_name, scale=10)
    assert_close(lse.numpy(), rl, _dt.f32, client.device_name, scale=20)


def test_zero_slopes_equal_plain_attention(client):  # type: ignore[no-untyped-def]
    q, k, v = (client.from_numpy(a) for a in _inputs(CASES[2]))
    out, lse = client.flash_attention_fwd(q, k, v, causal=True, alibi_slopes=client.zeros(6))
    ref, rl = client.flash_attention_fwd(q, k, v, causal=True)
    assert_close(out.numpy(), ref.numpy(), _dt.f32, client.device_name, scale=20)
    assert_close(lse.numpy(), rl.numpy(), _dt.f32, client.device_name, scale=20)


@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[3], CASES[4]], ids=str)
def test_alibi_bwd_vs_reference_and_finite_differences(client, case):  # type: ignore[no-untyped-def]
    _b, h, _hkv, sq, sk, d, causal, window, kvl = case
    qn, kn, vn = _inputs(case, seed=1)
    don = np.random.default_rng(2).standard_normal(qn.shape).astype(np.float32)
    q, k, v, do = (client.from_numpy(a) for a in (qn, kn, vn, don))
    kw = {"causal": causal, "window": window, "kv_seq_len": kvl, "alibi_slopes": _slopes(client, h)}
    out, lse = client.flash_attention_fwd(q, k, v, **kw)
    grads = client.flash_attention_bwd(do, q, k, v, out, lse, **kw)
    bias = alibi_flash_bias_ref(alibi_slopes_ref(h), sq, sk, kvl)
    mask = attention_mask(sq, sk, causal, window, kvl)
    ref = attention_bwd_ref(don, qn, kn, vn, mask, 1.0 / math.sqrt(d), bias=bias)
    for got, want in zip(grads, ref):
        assert_close(got.numpy(), want, _dt.f32, client.device_name, scale=50)
    rng = np.random.default_rng(3)
    dirs = [rng.standard_normal(a.shape) for a in (qn, kn, vn)]
    eps = 1e-5

    def loss(t: float) -> float:
        xs = [a.astype(np.float64) + t * u for a, u in zip((qn, kn, vn), dirs)]
        return float(np.sum(attention_ref(*xs, causal, window, kvl, bias=bias)[0] * don))

    fd = (loss(eps) - loss(-eps)) / (2 * eps)
    analytic = sum(float(np.sum(g.numpy().astype(np.float64) * u)) for g, u in zip(grads, dirs))
    assert abs(fd - analytic) <= 1e-3 * max(1.0, abs(fd)), (fd, analytic)


# f16 / bf16 backward (the tensor-core kernels on CUDA: D 64 / 128, 64-row blocks): lengths off the blocks,
# GQA G = 4, kv_seq_len < Sk, window + fully masked rows. NMSE bounds as test_attention.HALF_BWD_NMSE.
HALF_BWD = [
    (1, 8, 2, 150, 140, 64, True, 0, None),
    (1, 4, 4, 90, 150, 128, False, 0, 120),
    (1, 8, 2, 130, 70, 128, True, 20, None),  # Sq > Sk: the first 60 rows see no key
]


@pytest.mark.parametrize("dt", [_dt.f16, _dt.bf16], ids=str)
@pytest.mark.parametrize("case", HALF_BWD, ids=str)
def test_alibi_bwd_half(client, case, dt):  # type: ignore[no-untyped-def]
    if dt not in client.compute_dtypes:
        pytest.skip(f"{dt} not computed on {client.device_name}")
    _b, h, _hkv, sq, sk, d, causal, window, kvl = case
    qn, kn, vn = _inputs(case, seed=1)
    q, k, v, do = (client.from_numpy(a, dt) for a in (qn, kn, vn, np.random.default_rng(2).standard_normal(qn.shape)))
    kw = {"causal": causal, "window": window, "kv_seq_len": kvl, "alibi_slopes": _slopes(client, h)}
    out, lse = client.flash_attention_fwd(q, k, v, **kw)
    grads = client.flash_attention_bwd(do, q, k, v, out, lse, **kw)
    bias = alibi_flash_bias_ref(alibi_slopes_ref(h), sq, sk, kvl)
    mask = attention_mask(sq, sk, causal, window, kvl)
    ref = attention_bwd_ref(*(t.numpy().astype(np.float64) for t in (do, q, k, v)), mask, 1.0 / math.sqrt(d), bias=bias)
    for got, want in zip(grads, ref):
        assert got.dtype is dt
        c = assert_close(got.numpy().astype(np.float64), want, dt, client.device_name, scale=4)
        assert c.nmse < {"f16": 1e-6, "bf16": 5e-5}[dt.name], c
    assert np.all(grads[0].numpy()[..., ~mask.any(1), :] == 0)


@pytest.mark.parametrize("case", [CASES[2], CASES[5], CASES[6]], ids=str)
def test_alibi_fused_matches_generic(client, case):  # type: ignore[no-untyped-def]
    _b, h, _hkv, _sq, sk, d, causal, window, kvl = case
    q, k, v = (client.from_numpy(a) for a in _inputs(case))
    sl = _slopes(client, h)
    spec = AttnSpec(causal, window, sk if kvl is None else kvl, 1.0 / math.sqrt(d))
    out, lse = client.flash_attention_fwd(q, k, v, causal=causal, window=window, kv_seq_len=kvl, alibi_slopes=sl)
    go, gl = gen_fwd.flash_attention_fwd(client, q, k, v, spec, sl)
    assert_close(out.numpy(), go.numpy(), _dt.f32, client.device_name, scale=20)
    assert_close(lse.numpy(), gl.numpy(), _dt.f32, client.device_name, scale=20)
    do = client.from_numpy(np.random.default_rng(5).standard_normal(q.shape).astype(np.float32))
    kw = {"causal": causal, "window": window, "kv_seq_len": kvl, "alibi_slopes": sl}
    fused = client.flash_attention_bwd(do, q, k, v, out, lse, **kw)
    generic = gen_bwd.flash_attention_bwd(client, do, q, k, v, out, lse, spec, sl)
    for a, e in zip(fused, generic):
        assert_close(a.numpy(), e.numpy(), _dt.f32, client.device_name, scale=50)


@pytest.mark.parametrize("case", [CASES[1], CASES[6]], ids=str)
def test_alibi_makes_no_transfer(client, case):  # type: ignore[no-untyped-def]
    q, k, v = (client.from_numpy(a) for a in _inputs(case))
    sl = _slopes(client, case[1])
    with client.count_transfers() as t:
        client.flash_attention_fwd(q, k, v, causal=True, alibi_slopes=sl)
    assert t.total == 0


def test_alibi_bad_slopes(client):  # type: ignore[no-untyped-def]
    q, k, v = (client.from_numpy(a) for a in _inputs(CASES[0]))
    with pytest.raises(InvalidArgument, match="alibi_slopes"):
        client.flash_attention_fwd(q, k, v, alibi_slopes=client.zeros(3))
    with pytest.raises(InvalidArgument, match="alibi_slopes"):
        client.flash_attention_fwd(q, k, v, alibi_slopes=client.zeros(4, dtype=_dt.i32))
    out, lse = client.flash_attention_fwd(q, k, v)
    with pytest.raises(InvalidArgument, match="alibi_slopes"):
        client.flash_attention_bwd(out, q, k, v, out, lse, alibi_slopes=client.zeros(2, 2))
