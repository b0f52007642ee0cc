"""KV cache update, paged cache writes and paged attention vs float64 references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boostr import dtype as _dt
from boostr.errors import InvalidArgument
from boostr.ops.generic import kv_cache as gen
from boostr.testing.attention_refs import paged_attention_ref
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
