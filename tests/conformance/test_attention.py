"""Flash attention forward/backward and flash decoding on every backend vs the float64 reference."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from boostr import dtype as _dt
from boostr.errors import InvalidArgument
from boostr.ops.generic import attention as gen_fwd
from boostr.ops.generic import attention_bwd as gen_bwd
from boostr.ops.generic.attention_mask import AttnSpec
from boostr.testing.attention_refs import attention_bwd_ref, attention_mask, attention_ref, varlen_attention_ref
from boostr.testing.tolerances import assert_close

# (B, H, Hkv, Sq, Sk, D, causal, window, kv_seq_len)
FWD_CASES = [
    (1, 4, 4, 7, 9, 32, False, 0, None),
    (2, 4, 1, 5, 5, 64, True, 0, None),
    (1, 8, 2, 13, 13, 32, True, 0, None),  # H_kv = H/4
    (1, 2, 2, 9, 17, 80, True, 0, None),  # Sq < Sk: bottom-right aligned
    (1, 2, 1, 11, 6, 96, True, 0, None),  # Sq > Sk: the first rows see no key
    (1, 2, 2, 6, 10, 128, False, 0, 7),  # kv_seq_len < Sk
    (1, 2, 1, 5, 5, 256, True, 2, None),
    (1, 4, 2, 12, 5, 32, True, 3, None),  # window + Sq > Sk: whole rows masked
    (1, 2, 2, 8, 12, 64, False, 4, 9),  # window implies causal; kv_seq_len too
    (1, 2, 2, 300, 140, 32, True, 0, None),  # several query and key tiles
]
DECODE_CASES = [
    (2, 8, 2, 1, 300, 64, True, 0, None),
    (1, 4, 1, 1, 37, 128, False, 0, 20),
    (1, 4, 4, 1, 50, 32, True, 8, None),
    (1, 2, 2, 1, 9, 32, False, 0, 0),  # no valid key at all
]


def _qkv(b, h, hkv, sq, sk, d, seed=0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((b, h, sq, d)).astype(np.float32),
        rng.standard_normal((b, hkv, sk, d)).astype(np.float32),
        rng.standard_normal((b, hkv, sk, d)).astype(np.float32),
    )


def _check_fwd(client, case, dt=_dt.f32):  # type: ignore[no-untyped-def]
    b, h, hkv, sq, sk, d, causal, window, kvl = case
    if dt not in client.compute_dtypes:
        pytest.skip(f"{dt} not computed on {client.device_name}")
    q, k, v = (client.from_numpy(a, dt) for a in _qkv(b, h, hkv, sq, sk, d))
    out, lse = client.flash_attention_fwd(q, k, v, causal=causal, window=window, kv_seq_len=kvl)
    qn, kn, vn = (t.numpy().astype(np.float64) for t in (q, k, v))
    ro, rl = attention_ref(qn, kn, vn, causal, window, kvl)
    assert out.shape == (b, h, sq, d) and out.dtype is dt
    assert lse.shape == (b, h, sq) and lse.dtype is _dt.f32
    assert_close(out.numpy().astype(np.float64), ro, dt, client.device_name, scale=20)
    assert_close(lse.numpy(), rl, _dt.f32, client.device_name, scale=20)


@pytest.mark.parametrize("case", FWD_CASES + DECODE_CASES, ids=str)
def test_fwd_f32(client, case):  # type: ignore[no-untyped-def]
    _check_fwd(client, case)


@pytest.mark.parametrize("dt", [_dt.f16, _dt.bf16, _dt.f64], ids=str)
@pytest.mark.parametrize("case", [FWD_CASES[2], FWD_CASES[7], DECODE_CASES[0]], ids=str)
def test_fwd_other_dtypes(client, case, dt):  # type: ignore[no-untyped-def]
    _check_fwd(client, case, dt)


def test_fwd_strided_views(client):  # type: ignore[no-untyped-def]
    """q/k/v as [B, S, H, D] buffers viewed as [B, H, S, D] (what a QKV projection produces)."""
    q, k, v = _qkv(2, 4, 2, 6, 8, 32)
    tq, tk, tv = (
        client.from_numpy(np.ascontiguousarray(a.transpose(0, 2, 1, 3))).permute(0, 2, 1, 3) for a in (q, k, v)
    )
    out, lse = client.flash_attention_fwd(tq, tk, tv, causal=True)
    ro, rl = attention_ref(q, k, v, causal=True)
    assert_close(out.numpy(), ro, _dt.f32, client.device_name, scale=20)
    assert_close(lse.numpy(), rl, _dt.f32, client.device_name, scale=20)


def test_fully_masked_rows_give_zero_and_neg_inf(client):  # type: ignore[no-untyped-def]
    q, k, v = (client.from_numpy(a) for a in _qkv(1, 2, 2, 6, 3, 32))
    out, lse = client.flash_attention_fwd(q, k, v, causal=True)
    o, lv = out.numpy(), lse.numpy()
    assert np.all(o[:, :, :3] == 0.0) and np.all(np.isneginf(lv[:, :, :3]))
    assert np.all(np.isfinite(lv[:, :, 3:]))


def test_fwd_makes_no_transfer(client):  # type: ignore[no-untyped-def]
    q, k, v = (client.from_numpy(a) for a in _qkv(1, 4, 2, 9, 9, 32))
    qd = client.from_numpy(_qkv(1, 4, 2, 1, 9, 32)[0])
    with client.count_transfers() as t:
        client.flash_attention_fwd(q, k, v, causal=True, window=4)
        client.flash_attention_fwd(qd, k, v, kv_seq_len=5)
    assert t.total == 0


def _check_bwd(client, case):  # type: ignore[no-untyped-def]
    b, h, hkv, sq, sk, d, causal, window, kvl = case
    qn, kn, vn = _qkv(b, h, hkv, sq, sk, d, seed=1)
    don = np.random.default_rng(2).standard_normal(qn.shape).astype(np.float32)
    q, k, v, do = (client.from_numpy(a) for a in (qn, kn, vn, don))
    kw = {"causal": causal, "window": window, "kv_seq_len": kvl}
    out, lse = client.flash_attention_fwd(q, k, v, **kw)
    dq, dk, dv = client.flash_attention_bwd(do, q, k, v, out, lse, **kw)
    scale = 1.0 / math.sqrt(d)
    ref = attention_bwd_ref(don, qn, kn, vn, attention_mask(sq, sk, causal, window, kvl), scale)
    for got, want in zip((dq, dk, dv), ref):
        assert_close(got.numpy(), want, _dt.f32, client.device_name, scale=50)
    # the analytic reference against central finite differences of the reference forward
    rng = np.random.default_rng(3)
    dirs = [rng.standard_normal(a.shape) for a in (qn, kn, vn)]
    eps = 1e-5

    def loss(t: float) -> float:
        xs = [a.astype(np.float64) + t * u for a, u in zip((qn, kn, vn), dirs)]
        return float(np.sum(attention_ref(*xs, causal, window, kvl)[0] * don))

    fd = (loss(eps) - loss(-eps)) / (2 * eps)
    analytic = sum(float(np.sum(g.numpy().astype(np.float64) * u)) for g, u in zip((dq, dk, dv), dirs))
    assert abs(fd - analytic) <= 1e-3 * max(1.0, abs(fd)), (fd, analytic)


BWD_CASES = [*FWD_CASES[:9], DECODE_CASES[1]]  # every head dim (80 is padded to 96 by the CPU kernel)


@pytest.mark.parametrize("case", BWD_CASES, ids=str)
def test_bwd_vs_reference_and_finite_differences(client, case):  # type: ignore[no-untyped-def]
    _check_bwd(client, case)


# f16 / bf16 backward (the tensor-core kernels on CUDA: D 64 / 128, 64-row blocks): lengths that are not
# multiples of the blocks, GQA G = 4, causal + window, kv_seq_len < Sk, fully masked rows (lse = -inf).
HALF_BWD_CASES = [
    (1, 8, 2, 150, 150, 128, True, 0, None),
    (2, 4, 4, 70, 135, 64, False, 0, 100),
    (1, 8, 2, 150, 200, 64, True, 40, 170),
    (1, 4, 1, 140, 75, 128, True, 0, None),  # Sq > Sk: the first 65 rows see no key
    (1, 4, 2, 100, 90, 128, True, 24, 80),  # window + Sq > kv_seq_len: masked rows, partial key tiles
]
# NMSE bound of a half-precision gradient: P and dS are rounded to the dtype as tensor-core operands
# (FlashAttention-2), every sum accumulates in f32 (an emulation gives ~1e-7 for f16, ~6e-6 for bf16).
HALF_BWD_NMSE = {"f16": 1e-6, "bf16": 5e-5}


def check_half_grads(grads, ref, dt, backend, mask=None):  # type: ignore[no-untyped-def]
    """f16/bf16 gradients against the float64 reference of the rounded inputs; rows of ``dq`` [..., Sq, D] whose
    ``mask`` row is empty must be exactly 0."""
    for got, want in zip(grads, ref):
        assert got.dtype is dt
        c = assert_close(got.numpy().astype(np.float64), want, dt, backend, scale=4)
        assert c.nmse < HALF_BWD_NMSE[dt.name], c
    if mask is not None:
        assert np.all(grads[0].numpy()[..., ~mask.any(1), :] == 0)


@pytest.mark.parametrize("dt", [_dt.f16, _dt.bf16], ids=str)
@pytest.mark.parametrize("case", HALF_BWD_CASES, ids=str)
def test_bwd_half(client, case, dt):  # type: ignore[no-untyped-def]
    if dt not in client.compute_dtypes:
        pytest.skip(f"{dt} not computed on {client.device_name}")
    b, h, hkv, sq, sk, d, causal, window, kvl = case
    don = np.random.default_rng(2).standard_normal((b, h, sq, d)).astype(np.float32)
    q, k, v, do = (client.from_numpy(a, dt) for a in (*_qkv(b, h, hkv, sq, sk, d, seed=1), don))
    kw = {"causal": causal, "window": window, "kv_seq_len": kvl}
    out, lse = client.flash_attention_fwd(q, k, v, **kw)
    grads = client.flash_attention_bwd(do, q, k, v, out, lse, **kw)
    mask = attention_mask(sq, sk, causal, window, kvl)
    ref = attention_bwd_ref(*(t.numpy().astype(np.float64) for t in (do, q, k, v)), mask, 1.0 / math.sqrt(d))
    check_half_grads(grads, ref, dt, client.device_name, mask)


@pytest.mark.parametrize("case", [FWD_CASES[2], FWD_CASES[7], FWD_CASES[9], DECODE_CASES[0]], ids=str)
def test_fused_matches_generic(client, case):  # type: ignore[no-untyped-def]
    b, h, hkv, sq, sk, d, causal, window, kvl = case
    q, k, v = (client.from_numpy(a) for a in _qkv(b, h, hkv, sq, sk, d))
    spec = AttnSpec(causal, window, sk if kvl is None else kvl, 1.0 / math.sqrt(d))
    out, lse = client.flash_attention_fwd(q, k, v, causal=causal, window=window, kv_seq_len=kvl)
    go, gl = gen_fwd.flash_attention_fwd(client, q, k, v, spec)
    assert_close(out.numpy(), go.numpy(), _dt.f32, client.device_name, scale=20)
    assert_close(lse.numpy(), gl.numpy(), _dt.f32, client.device_name, scale=20)
    do = client.from_numpy(np.random.default_rng(5).standard_normal(q.shape).astype(np.float32))
    fused = client.flash_attention_bwd(do, q, k, v, out, lse, causal=causal, window=window, kv_seq_len=kvl)
    generic = gen_bwd.flash_attention_bwd(client, do, q, k, v, out, lse, spec)
    for a, e in zip(fused, generic):
        assert_close(a.numpy(), e.numpy(), _dt.f32, client.device_name, scale=50)


def test_bad_inputs(client):  # type: ignore[no-untyped-def]
    q, k, v = (client.from_numpy(a) for a in _qkv(1, 6, 4, 4, 4, 32))
    with pytest.raises(InvalidArgument, match=r"'k'.*multiple"):
        client.flash_attention_fwd(q, k, v)
    q, k, v = (client.from_numpy(a) for a in _qkv(1, 2, 2, 4, 4, 48))
    with pytest.raises(InvalidArgument, match=r"'q'.*head dim 48"):
        client.flash_attention_fwd(q, k, v)
    q, k, v = (client.from_numpy(a) for a in _qkv(1, 2, 2, 4, 4, 32))
    with pytest.raises(InvalidArgument, match="kv_seq_len"):
        client.flash_attention_fwd(q, k, v, kv_seq_len=5)
    with pytest.raises(InvalidArgument, match="window"):
        client.flash_attention_fwd(q, k, v, window=-1)
    with pytest.raises(InvalidArgument, match="'v'"):
        client.flash_attention_fwd(q, k, v.narrow(2, 0, 3))
    with pytest.raises(InvalidArgument, match="'q'"):
        client.flash_attention_fwd(q.reshape(2, 4, 32), k, v)
    out, lse = client.flash_attention_fwd(q, k, v)
    with pytest.raises(InvalidArgument, match="'lse'"):
        client.flash_attention_bwd(out, q, k, v, out, lse.narrow(2, 0, 2))


# cu_seqlens with empty and length-1 sequences (q and k lengths differ per sequence)
VARLEN = [
    ([0, 3, 3, 4, 9], [0, 5, 7, 8, 8], True),
    ([0, 1, 6, 6, 13], [0, 4, 10, 12, 19], False),
]


@pytest.mark.parametrize("case", VARLEN, ids=str)
@pytest.mark.parametrize("hkv", [1, 4])
def test_varlen_attention(client, case, hkv):  # type: ignore[no-untyped-def]
    cu_q, cu_k, causal = case
    rng = np.random.default_rng(7)
    h, d = 4, 32
    q = rng.standard_normal((cu_q[-1], h, d)).astype(np.float32)
    k = rng.standard_normal((cu_k[-1], hkv, d)).astype(np.float32)
    v = rng.standard_normal((cu_k[-1], hkv, d)).astype(np.float32)
    lens = [max(b - a for a, b in itertools.pairwise(cu)) for cu in (cu_q, cu_k)]
    out, lse = client.varlen_attention_fwd(
        client.from_numpy(q), client.from_numpy(k), client.from_numpy(v), cu_q, np.array(cu_k), *lens, causal=causal
    )
    ref = varlen_attention_ref(q, k, v, cu_q, cu_k, causal, 1.0 / math.sqrt(d))
    assert out.shape == q.shape and lse.shape == (h, cu_q[-1])
    assert_close(out.numpy(), ref, _dt.f32, client.device_name, scale=20)
    s = 1  # second sequence: its own flash attention, lse rows [H, Lq]
    want = attention_ref(
        q[cu_q[s] : cu_q[s + 1]].transpose(1, 0, 2)[None], k[cu_k[s] : cu_k[s + 1]].transpose(1, 0, 2)[None],
        v[cu_k[s] : cu_k[s + 1]].transpose(1, 0, 2)[None], causal,
    )[1][0]  # fmt: skip
    got = lse.numpy()[:, cu_q[s] : cu_q[s + 1]]
    assert_close(got, want, _dt.f32, client.device_name, scale=20)


def test_varlen_bad_inputs(client):  # type: ignore[no-untyped-def]
    q = client.zeros(6, 2, 32)
    k = client.zeros(5, 2, 32)
    with pytest.raises(InvalidArgument, match="cu_seqlens_q"):
        client.varlen_attention_fwd(q, k, k, [0, 4, 2, 6], [0, 1, 2, 5], 4, 3)
    with pytest.raises(InvalidArgument, match="cu_seqlens_k"):
        client.varlen_attention_fwd(q, k, k, [0, 2, 6], [0, 2, 4], 4, 3)
    with pytest.raises(InvalidArgument, match="max_q"):
        client.varlen_attention_fwd(q, k, k, [0, 2, 6], [0, 2, 5], 3, 3)
    with pytest.raises(InvalidArgument, match="'k'"):
        client.varlen_attention_fwd(q, client.zeros(5, 3, 32), client.zeros(5, 3, 32), [0, 6], [0, 5], 6, 5)
