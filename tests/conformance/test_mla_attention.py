"""Multi-head latent attention (DeepSeek-V2 MLA) forward on every backend vs a naive reference with full K/V."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boostr import dtype as _dt
from boostr.errors import InvalidArgument
from boostr.ops.generic import mla_attention as gen
from boostr.ops.generic.attention_mask import AttnSpec
from boostr.testing.attention_refs import mla_attention_ref
from boostr.testing.tolerances import assert_close

# (B, H, Sq, Sk, d_nope, d_rope, d_c, d_v, causal, kv_seq_len)
CASES = [
    (1, 4, 7, 9, 16, 8, 32, 16, False, None),
    (2, 3, 5, 5, 16, 8, 24, 12, True, None),  # odd latent and value widths
    (1, 4, 6, 11, 32, 16, 48, 32, True, None),  # Sq < Sk: bottom-right aligned
    (1, 2, 9, 4, 16, 8, 32, 16, True, None),  # Sq > Sk: first rows see no key
    (2, 8, 1, 40, 16, 8, 64, 16, True, 29),  # decode over a partly filled latent cache
    (1, 2, 40, 70, 16, 16, 32, 32, True, None),  # several query and key tiles
]


def _inputs(case, seed=0):  # type: ignore[no-untyped-def]
    b, h, sq, sk, dn, dr, dc, dv = case[:8]
    rng = np.random.default_rng(seed)

    def r(*shape, s=1.0):  # type: ignore[no-untyped-def]
        return (rng.standard_normal(shape) * s).astype(np.float32)

    return (
        r(b, h, sq, dn), r(b, h, sq, dr), r(b, sk, dc), r(b, sk, dr),
        r(h, dn, dc, s=1 / math.sqrt(dc)), r(h, dv, dc, s=1 / math.sqrt(dc)),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("case", "dt"), [(c, _dt.f32) for c in CASES] + [(CASES[2], t) for t in (_dt.f16, _dt.bf16, _dt.f64)], ids=str
)
def test_mla_fwd(client, case, dt):  # type: ignore[no-untyped-def]
    if dt not in client.compute_dtypes:
        pytest.skip(f"{dt} not computed on {client.device_name}")
    b, h, sq, _sk, _dn, _dr, _dc, dv, causal, kvl = case
    ts = [client.from_numpy(a, dt) for a in _inputs(case)]
    out, lse = client.mla_attention_fwd(*ts, causal=causal, kv_seq_len=kvl)
    assert out.shape == (b, h, sq, dv) and out.dtype is dt
    assert lse.shape == (b, h, sq) and lse.dtype is _dt.f32
    ro, rl = mla_attention_ref(*(t.numpy().astype(np.float64) for t in ts), causal=causal, kv_seq_len=kvl)
    assert_close(out.numpy().astype(np.float64), ro, dt, client.device_name, scale=20)
    assert_close(lse.numpy(), rl, _dt.f32, client.device_name, scale=20)


def test_mla_custom_scale_and_fused_matches_generic(client):  # type: ignore[no-untyped-def]
    case = CASES[2]
    ts = [client.from_numpy(a) for a in _inputs(case, seed=1)]
    out, lse = client.mla_attention_fwd(*ts, causal=True, scale=0.3)
    ro, rl = mla_attention_ref(*(t.numpy() for t in ts), causal=True, scale=0.3)
    assert_close(out.numpy(), ro, _dt.f32, client.device_name, scale=20)
    assert_close(lse.numpy(), rl, _dt.f32, client.device_name, scale=20)
    go, gl = gen.mla_attention_fwd(client, *ts, AttnSpec(True, 0, case[3], 0.3))
    assert_close(out.numpy(), go.numpy(), _dt.f32, client.device_name, scale=20)
    assert_close(lse.numpy(), gl.numpy(), _dt.f32, client.device_name, scale=20)


def test_mla_makes_no_transfer(client):  # type: ignore[no-untyped-def]
    ts = [client.from_numpy(a) for a in _inputs(CASES[1])]
    with client.count_transfers() as t:
        client.mla_attention_fwd(*ts, causal=True)
    assert t.total == 0


def test_mla_bad_inputs(client):  # type: ignore[no-untyped-def]
    qn, qr, kv, kr, wk, wv = (client.from_numpy(a) for a in _inputs(CASES[0]))
    with pytest.raises(InvalidArgument, match="q_rope"):
        client.mla_attention_fwd(qn, qr.narrow(3, 0, 4), kv, kr, wk, wv)
    with pytest.raises(InvalidArgument, match="k_rope"):
        client.mla_attention_fwd(qn, qr, kv, kr.narrow(1, 0, 3), wk, wv)
    with pytest.raises(InvalidArgument, match="w_uk"):
        client.mla_attention_fwd(qn, qr, kv, kr, wk.narrow(2, 0, 8), wv)
    with pytest.raises(InvalidArgument, match="w_uv"):
        client.mla_attention_fwd(qn, qr, kv, kr, wk, wv.narrow(0, 0, 2))
    with pytest.raises(InvalidArgument, match="kv_latent"):
        client.mla_attention_fwd(qn, qr, kv.reshape(1, 9, 4, 8), kr, wk, wv)
    with pytest.raises(InvalidArgument, match="kv_seq_len"):
        client.mla_attention_fwd(qn, qr, kv, kr, wk, wv, kv_seq_len=10)
    with pytest.raises(InvalidArgument, match="w_uv"):
        client.mla_attention_fwd(qn, qr, kv, kr, wk, client.zeros(*wv.shape, dtype=_dt.f16))
