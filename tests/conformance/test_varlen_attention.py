"""Packed (varlen) attention: backward vs the float64 reference and finite differences; many-sequence forward."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from boostr import dtype as _dt
from boostr.errors import InvalidArgument
from boostr.ops.generic import varlen_attention as gen
from boostr.testing.attention_refs import varlen_attention_bwd_ref, varlen_attention_ref
from boostr.testing.tolerances import assert_close

# cu_seqlens with empty and length-1 sequences; a sequence with queries but no keys (third of the first)
CASES = [
    ([0, 3, 3, 4, 9], [0, 5, 7, 8, 8], True),
    ([0, 1, 6, 6, 13], [0, 4, 10, 12, 19], False),
    ([0, 2, 7], [0, 0, 9], True),  # the first sequence has no key at all
]


def _data(cu_q, cu_k, h, hkv, d, seed=7):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((cu_q[-1], h, d)).astype(np.float32),
        rng.standard_normal((cu_k[-1], hkv, d)).astype(np.float32),
        rng.standard_normal((cu_k[-1], hkv, d)).astype(np.float32),
        rng.standard_normal((cu_q[-1], h, d)).astype(np.float32),
    )


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("hkv", [1, 4])
def test_varlen_bwd(client, case, hkv):  # type: ignore[no-untyped-def]
    cu_q, cu_k, causal = case
    h, d = 4, 32
    qn, kn, vn, don = _data(cu_q, cu_k, h, hkv, d)
    lens = [max(b - a for a, b in itertools.pairwise(cu)) for cu in (cu_q, cu_k)]
    q, k, v, do = (client.from_numpy(a) for a in (qn, kn, vn, don))
    out, lse = client.varlen_attention_fwd(q, k, v, cu_q, cu_k, *lens, causal=causal)
    dq, dk, dv = client.varlen_attention_bwd(do, q, k, v, out, lse, cu_q, np.array(cu_k), *lens, causal=causal)
    assert dq.shape == q.shape and dk.shape == k.shape and dv.shape == v.shape
    scale = 1.0 / math.sqrt(d)
    ref = varlen_attention_bwd_ref(don, qn, kn, vn, cu_q, cu_k, causal, scale)
    for got, want in zip((dq, dk, dv), ref):
        assert_close(got.numpy(), want, _dt.f32, client.device_name, scale=50)
    rng = np.random.default_rng(3)
    dirs = [rng.standard_normal(a.shape) for a in (qn, kn, vn)]
    eps = 1e-5

    def loss(t: float) -> float:
        xs = [a.astype(np.float64) + t * u for a, u in zip((qn, kn, vn), dirs)]
        return float(np.sum(varlen_attention_ref(*xs, cu_q, cu_k, causal, scale) * don))

    fd = (loss(eps) - loss(-eps)) / (2 * eps)
    analytic = sum(float(np.sum(g.numpy().astype(np.float64) * u)) for g, u in zip((dq, dk, dv), dirs))
    assert abs(fd - analytic) <= 1e-3 * max(1.0, abs(fd)), (fd, analytic)


def test_varlen_bwd_f16(client):  # type: ignore[no-untyped-def]
    if _dt.f16 not in client.compute_dtypes:
        pytest.skip(f"f16 not computed on {client.device_name}")
    cu_q, cu_k, causal = CASES[0]
    qn, kn, vn, don = _data(cu_q, cu_k, 4, 2, 64)
    q, k, v, do = (client.from_numpy(a, _dt.f16) for a in (qn, kn, vn, don))
    out, lse = client.varlen_attention_fwd(q, k, v, cu_q, cu_k, 5, 5, causal=causal)
    grads = client.varlen_attention_bwd(do, q, k, v, out, lse, cu_q, cu_k, 5, 5, causal=causal)
    ref = varlen_attention_bwd_ref(
        *(t.numpy().astype(np.float64) for t in (do, q, k, v)), cu_q, cu_k, causal, 1.0 / math.sqrt(64)
    )
    for got, want in zip(grads, ref):
        assert got.dtype is _dt.f16
        assert_close(got.numpy().astype(np.float64), want, _dt.f16, client.device_name, scale=50)


# f16 / bf16 backward (the tensor-core kernels on CUDA: D 64 / 128, 64-row blocks): sequences longer than a
# block and off its multiples, an empty one, one with queries but no key, causal Sq > Sk (masked rows).
HALF_CU = [([0, 70, 70, 75, 205, 305], [0, 130, 131, 131, 260, 340]), ([0, 150, 151], [0, 100, 101])]


@pytest.mark.parametrize("dt", [_dt.f16, _dt.bf16], ids=str)
@pytest.mark.parametrize(("cu", "causal", "d"), [(HALF_CU[0], True, 64), (HALF_CU[0], False, 128),
                                                 (HALF_CU[1], True, 128)], ids=str)  # fmt: skip
def test_varlen_bwd_half(client, cu, causal, d, dt):  # type: ignore[no-untyped-def]
    if dt not in client.compute_dtypes:
        pytest.skip(f"{dt} not computed on {client.device_name}")
    cu_q, cu_k = cu
    lens = [max(b - a for a, b in itertools.pairwise(c)) for c in cu]
    q, k, v, do = (client.from_numpy(a, dt) for a in _data(cu_q, cu_k, 8, 2, d))
    out, lse = client.varlen_attention_fwd(q, k, v, cu_q, cu_k, *lens, causal=causal)
    grads = client.varlen_attention_bwd(do, q, k, v, out, lse, cu_q, cu_k, *lens, causal=causal)
    ref = varlen_attention_bwd_ref(
        *(t.numpy().astype(np.float64) for t in (do, q, k, v)), cu_q, cu_k, causal, 1.0 / math.sqrt(d)
    )
    for got, want in zip(grads, ref):
        assert got.dtype is dt
        c = assert_close(got.numpy().astype(np.float64), want, dt, client.device_name, scale=4)
        assert c.nmse < {"f16": 1e-6, "bf16": 5e-5}[dt.name], c


def test_varlen_bwd_bad_inputs(client):  # type: ignore[no-untyped-def]
    q = client.zeros(6, 2, 32)
    k = client.zeros(5, 2, 32)
    lse = client.zeros(2, 6)
    with pytest.raises(InvalidArgument, match="cu_seqlens_q"):
        client.varlen_attention_bwd(q, q, k, k, q, lse, [0, 4, 2, 6], [0, 1, 2, 5], 4, 3)
    with pytest.raises(InvalidArgument, match="max_k"):
        client.varlen_attention_bwd(q, q, k, k, q, lse, [0, 2, 6], [0, 2, 5], 4, 2)
    with pytest.raises(InvalidArgument, match="'lse'"):
        client.varlen_attention_bwd(q, q, k, k, q, client.zeros(6, 2), [0, 2, 6], [0, 2, 5], 4, 3)
    with pytest.raises(InvalidArgument, match="'dout'"):
        client.varlen_attention_bwd(k, q, k, k, q, lse, [0, 2, 6], [0, 2, 5], 4, 3)
    with pytest.raises(InvalidArgument, match="'k'"):
        client.varlen_attention_bwd(q, q, client.zeros(5, 3, 32), client.zeros(5, 3, 32), q, lse, [0, 6], [0, 5], 6, 5)


@pytest.mark.parametrize("causal", [False, True])
def test_varlen_fwd_many_sequences(client, causal):  # type: ignore[no-untyped-def]
    """40 sequences of lengths 0..70 (q and k differ), D 80, GQA 6/2: fused (if any) vs generic vs reference."""
    rng = np.random.default_rng(11)
    lq, lk = rng.integers(0, 12, 40), rng.integers(0, 12, 40)
    lq[5], lk[5], lk[9] = 70, 66, 0
    cu_q, cu_k = [0, *np.cumsum(lq).tolist()], [0, *np.cumsum(lk).tolist()]
    qn, kn, vn, _ = _data(cu_q, cu_k, 6, 2, 80)
    q, k, v = (client.from_numpy(a) for a in (qn, kn, vn))
    out, lse = client.varlen_attention_fwd(q, k, v, cu_q, cu_k, 70, 66, causal=causal)
    ref = varlen_attention_ref(qn, kn, vn, cu_q, cu_k, causal, 1.0 / math.sqrt(80))
    assert_close(out.numpy(), ref, _dt.f32, client.device_name, scale=20)
    go, gl = gen.varlen_attention_fwd(client, q, k, v, cu_q, cu_k, causal, 1.0 / math.sqrt(80))
    assert_close(out.numpy(), go.numpy(), _dt.f32, client.device_name, scale=20)
    assert_close(lse.numpy(), gl.numpy(), _dt.f32, client.device_name, scale=20)
