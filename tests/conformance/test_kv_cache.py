"""KV cache update, paged cache writes and paged attention vs float64 references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boostr import dtype as _dt
from boostr.errors import InvalidArgument, UnsupportedDType
from boostr.ops.generic import kv_cache as gen
from boostr.ops.generic import kv_cache_quant as genq
from boostr.testing.attention_refs import kv_quant_ref, paged_attention_ref
from boostr.testing.tolerances import assert_close, assert_equal


def test_kv_cache_update(client):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    kc = rng.standard_normal((2, 2, 10, 32)).astype(np.float32)
    vc = rng.standard_normal(kc.shape).astype(np.float32)
    k = rng.standard_normal((2, 2, 3, 32)).astype(np.float32)
    v = rng.standard_normal(k.shape).astype(np.float32)
    tkc, tvc, tk, tv = (client.from_numpy(a) for a in (kc, vc, k, v))
    with client.count_transfers() as t:
        client.kv_cache_update(tkc, tvc, tk, tv, 6)
    assert t.total == 0
    kc[:, :, 6:9], vc[:, :, 6:9] = k, v
    assert_equal(tkc.numpy(), kc, "k_cache")
    assert_equal(tvc.numpy(), vc, "v_cache")
    with pytest.raises(InvalidArgument, match="pos"):
        client.kv_cache_update(tkc, tvc, tk, tv, 8)


@pytest.mark.parametrize("dt", [_dt.f32, _dt.f16], ids=str)
def test_reshape_and_cache(client, dt):  # type: ignore[no-untyped-def]
    if dt not in client.storage_dtypes:
        pytest.skip(f"{dt} not stored here")
    rng = np.random.default_rng(1)
    n, bs, hkv, d, t = 5, 4, 2, 32, 7
    kb = rng.standard_normal((n, bs, hkv, d)).astype(dt.np_dtype)
    vb = rng.standard_normal((n, bs, hkv, d)).astype(dt.np_dtype)
    k = rng.standard_normal((t, hkv, d)).astype(np.float32)
    v = rng.standard_normal((t, hkv, d)).astype(np.float32)
    slots = np.array([13, -1, 0, 19, 5, -1, 8])
    tkb, tvb = client.from_numpy(kb, dt), client.from_numpy(vb, dt)
    client.reshape_and_cache(client.from_numpy(k), client.from_numpy(v), tkb, tvb, client.from_numpy(slots))
    for blocks, src in ((kb, k), (vb, v)):
        flat = blocks.reshape(n * bs, hkv, d)
        for i, s in enumerate(slots):
            if s >= 0:
                flat[s] = src[i].astype(dt.np_dtype)
    assert_equal(tkb.numpy(), kb, "k_blocks")
    assert_equal(tvb.numpy(), vb, "v_blocks")


def _paged(client, b, h, hkv, sq, d, bs, lens, seed=0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    mb = max(-(-max(lens) // bs), 1) + 1
    n = b * mb + 2
    perm = rng.permutation(n)  # shuffled blocks; unused table entries left at 0
    table = np.zeros((b, mb), np.int64)
    for i in range(b):
        table[i] = perm[i * mb : (i + 1) * mb]
    q = rng.standard_normal((b, h, sq, d)).astype(np.float32)
    kb = rng.standard_normal((n, bs, hkv, d)).astype(np.float32)
    vb = rng.standard_normal((n, bs, hkv, d)).astype(np.float32)
    return q, kb, vb, table, np.array(lens, np.int64)


# (B, H, Hkv, Sq, D, block_size, context_lens, causal)
PAGED = [
    (3, 4, 2, 1, 32, 4, [5, 1, 9], True),
    (2, 8, 1, 1, 64, 8, [17, 0], True),  # MQA, an empty sequence
    (2, 4, 4, 3, 128, 4, [6, 11], True),  # a few queries per sequence (speculative decode)
    (2, 4, 2, 2, 32, 2, [3, 7], False),
]


@pytest.mark.parametrize("case", PAGED, ids=str)
def test_paged_attention(client, case):  # type: ignore[no-untyped-def]
    b, h, hkv, sq, d, bs, lens, causal = case
    q, kb, vb, table, ctx = _paged(client, b, h, hkv, sq, d, bs, lens)
    args = [client.from_numpy(a) for a in (kb, vb, table, ctx)]
    qt = client.from_numpy(q[:, :, 0] if sq == 1 else q)
    with client.count_transfers() as t:
        out = client.paged_attention_fwd(qt, *args, causal=causal)
    assert t.total == 0
    ref = paged_attention_ref(q, kb, vb, table, ctx, 1.0 / math.sqrt(d), causal)
    assert out.shape == qt.shape
    assert_close(out.numpy(), ref[:, :, 0] if sq == 1 else ref, _dt.f32, client.device_name, scale=20)
    g = gen.paged_attention_fwd(client, client.from_numpy(q), *args, 1.0 / math.sqrt(d), causal)
    assert_close(out.numpy(), g.numpy()[:, :, 0] if sq == 1 else g.numpy(), _dt.f32, client.device_name, scale=20)


def test_paged_bad_inputs(client):  # type: ignore[no-untyped-def]
    q, kb, vb, table, ctx = _paged(client, 2, 4, 2, 1, 32, 4, [5, 3])
    kbt, vbt = client.from_numpy(kb), client.from_numpy(vb)
    qt = client.from_numpy(q[:, :, 0])
    with pytest.raises(InvalidArgument, match="k_blocks"):
        client.paged_attention_fwd(client.from_numpy(np.zeros((2, 3, 32), np.float32)), kbt, vbt, table, ctx)
    with pytest.raises(InvalidArgument, match="block_table"):
        client.paged_attention_fwd(qt, kbt, vbt, table[:1], ctx)
    with pytest.raises(InvalidArgument, match="slot_mapping"):
        client.reshape_and_cache(client.zeros(2, 2, 32), client.zeros(2, 2, 32), kbt, vbt, [0])
    if client.kind == "cpu":  # the CPU validates index values; GPU backends clamp them
        bad = table.copy()
        bad[0, 0] = kb.shape[0]
        with pytest.raises(InvalidArgument, match="block_table"):
            client.paged_attention_fwd(qt, kbt, vbt, bad, ctx)
        with pytest.raises(InvalidArgument, match="context_lens"):
            client.paged_attention_fwd(qt, kbt, vbt, table, np.array([5, 99]))
        with pytest.raises(InvalidArgument, match="slot_mapping"):
            client.reshape_and_cache(client.zeros(1, 2, 32), client.zeros(1, 2, 32), kbt, vbt, [10**6])


@pytest.mark.parametrize(("fmt", "group"), [("fp8_e4m3", 0), ("int8", 0), ("int4", 32), ("int4", 64), ("int4", 128)])
def test_kv_quant(client, fmt, group):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((2, 3, 5, 128)) * rng.uniform(0.1, 4.0, (2, 3, 5, 1))).astype(np.float32)
    x[0, 0, 0] = 0.0  # an all-zero row: scale 1
    try:
        data, scale, zero = client.quantize_kv(client.from_numpy(x), fmt, group_size=group or 64)
    except UnsupportedDType as exc:
        pytest.skip(str(exc))
    codes, s_ref, z_ref = kv_quant_ref(x, fmt, group or 64)
    assert_close(scale.numpy(), s_ref, _dt.f32, client.device_name)
    back = client.dequantize_kv(data, scale, zero, fmt, group_size=group or 64).numpy().astype(np.float64)
    if fmt == "fp8_e4m3":
        assert data.dtype is _dt.fp8_e4m3 and data.shape == x.shape
        step = np.maximum(np.abs(x) / 16.0, s_ref[..., None] * 2.0**-9)  # e4m3: 3 mantissa bits
        assert np.all(np.abs(back - x) <= step * 1.0001)
        return
    if fmt == "int8":
        assert data.dtype is _dt.i8 and data.shape == x.shape
        got = data.numpy().astype(np.float64)
        bound = s_ref[..., None] * 0.5
    else:
        assert data.dtype is _dt.u8 and data.shape == (2, 3, 5, 64)
        assert_close(zero.numpy(), z_ref, _dt.f32, client.device_name)
        packed = data.numpy().astype(np.int64)
        got = np.stack([packed & 15, packed >> 4], -1).reshape(x.shape).astype(np.float64)
        bound = np.repeat(s_ref, group, -1) * 0.5
    assert np.abs(got - codes).max() <= 1  # only f32-vs-f64 rounding ties may differ
    assert np.all(np.abs(back - x) <= bound * 1.0001 + 1e-6)
    gd, gs, gz = genq.quantize(client, client.from_numpy(x), fmt, group)
    assert_equal(data.numpy(), gd.numpy(), "fused vs generic data")
    gback = genq.dequantize(client, gd, gs, gz, fmt, group, _dt.f32)
    assert_close(back, gback.numpy(), _dt.f32, client.device_name)


def test_kv_quant_bad_inputs(client):  # type: ignore[no-untyped-def]
    x = client.zeros(2, 64)
    with pytest.raises(InvalidArgument, match="fmt"):
        client.quantize_kv(x, "int2")
    with pytest.raises(InvalidArgument, match="group_size"):
        client.quantize_kv(x, "int4", group_size=16)
    with pytest.raises(InvalidArgument, match="'x'"):
        client.quantize_kv(client.zeros(2, 96), "int4", group_size=64)
    if _dt.u8 not in client.storage_dtypes:
        pytest.skip(f"{client.device_name} does not store u8 (int4 codes)")
    data, scale, zero = client.quantize_kv(x, "int4", group_size=32)
    with pytest.raises(InvalidArgument, match="zero"):
        client.dequantize_kv(data, scale, None, "int4", group_size=32)
    with pytest.raises(InvalidArgument, match="scale"):
        client.dequantize_kv(data, scale, zero, "int4", group_size=64)


@pytest.mark.parametrize("dt", [_dt.f32, _dt.f16], ids=str)
def test_kv_quant_fp8_matches_generic_bitwise(client, dt):  # type: ignore[no-untyped-def]
    """fp8 e4m3 codes of the fused kernel equal the generic composite's byte for byte (ties, subnormals, 448)."""
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((3, 4, 64)) * 10.0 ** rng.integers(-3, 3, (3, 4, 1))).astype(np.float32)
    x[0, 0, :8] = [448.0, -0.0, 0.0, 1e-9, -3e-3, 2.0**-9 * 448.0, 2.0**-8 * 448.0 * 1.5, 300.0]
    x[0, 1] = 0.0
    xt = client.from_numpy(x, dt)
    try:
        data, scale, _ = client.quantize_kv(xt, "fp8_e4m3")
    except UnsupportedDType as exc:
        pytest.skip(str(exc))
    gd, gs, _ = genq.quantize(client, xt, "fp8_e4m3", 0)
    assert_equal(data.numpy().view(np.uint8), gd.numpy().view(np.uint8), "fused vs generic fp8 codes")
    assert_equal(scale.numpy(), gs.numpy(), "fused vs generic scales")
    back = client.dequantize_kv(data, scale, None, "fp8_e4m3", dtype=dt)
    gback = genq.dequantize(client, gd, gs, None, "fp8_e4m3", 0, dt)
    assert back.dtype is dt
    assert_equal(back.numpy(), gback.numpy(), "fused vs generic dequant")
