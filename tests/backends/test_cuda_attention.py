"""CUDA attention family (fused kernels) vs the float64 references: tile boundaries, every head dim,
GQA ratios, causal / window / kv_seq_len masks, fully masked rows, f32 / f16 / bf16, flash decoding,
paged decode, RoPE and KV quantization (bit-exact vs the CPU). Skipped cleanly without CUDA."""

from __future__ import annotations

import math

import numpy as np
import pytest

import boostr
from boostr import dtype as _dt
from boostr.runtime import cuda as cuda_rt
from boostr.testing.attention_refs import (
    attention_bwd_ref,
    attention_mask,
    attention_ref,
    paged_attention_ref,
    rope_ref,
)
from boostr.testing.tolerances import assert_close

REASON = cuda_rt.probe()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"cuda unavailable: {REASON}")
DTYPES = [_dt.f32, _dt.f16, _dt.bf16]


@pytest.fixture(scope="module")
def cu():  # type: ignore[no-untyped-def]
    return boostr.get_client("cuda")


def _qkv(cu, b, h, hkv, sq, sk, d, dt, seed=0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    arrs = [rng.standard_normal(s).astype(np.float32) for s in ((b, h, sq, d), (b, hkv, sk, d), (b, hkv, sk, d))]
    ts = [cu.from_numpy(a, dt) for a in arrs]
    return ts, [t.numpy().astype(np.float64) for t in ts]  # the reference sees the rounded inputs


def _fwd(cu, case, dt):  # type: ignore[no-untyped-def]
    b, h, hkv, sq, sk, d, causal, window, kvl = case
    (q, k, v), (qn, kn, vn) = _qkv(cu, b, h, hkv, sq, sk, d, dt)
    with cu.count_transfers() as t:
        out, lse = cu.flash_attention_fwd(q, k, v, causal=causal, window=window, kv_seq_len=kvl)
    assert t.total == 0
    ro, rl = attention_ref(qn, kn, vn, causal, window, kvl)
    assert out.shape == (b, h, sq, d) and out.dtype is dt and lse.dtype is _dt.f32
    assert_close(out.numpy().astype(np.float64), ro, dt, cu.device_name, scale=20)
    lv = lse.numpy()
    assert np.array_equal(np.isneginf(lv), np.isneginf(rl))  # fully masked rows: -inf exactly
    fin = np.isfinite(rl)
    if fin.any():
        assert_close(lv[fin], rl[fin], _dt.f32, cu.device_name, scale=20)
    assert np.all(out.numpy()[np.isneginf(rl)] == 0)


# (B, H, Hkv, Sq, Sk, D, causal, window, kv_seq_len)
TILE_CASES = [
    (1, 2, 2, 65, 65, 64, False, 0, None),  # one past the 64-row tensor-core block
    (1, 2, 1, 130, 200, 128, True, 0, None),  # several query / key tiles, bottom-right causal
    (2, 4, 1, 63, 127, 64, True, 0, None),  # MQA, tiles just short of full
    (1, 8, 2, 100, 100, 128, True, 37, None),  # GQA 4, sliding window inside tiles
    (1, 4, 4, 70, 30, 128, True, 0, None),  # Sk < Sq: the first 40 rows see nothing
    (1, 2, 2, 5, 300, 64, False, 0, 129),  # kv_seq_len cuts a key tile
    (1, 2, 2, 2, 2, 64, True, 0, 0),  # no valid key at all
    (1, 2, 1, 33, 65, 128, False, 3, 50),  # window + kv_seq_len
]
DIM_CASES = [(1, 4, 2, 37, 45, d, True, 0, None) for d in (32, 64, 80, 96, 128, 256)]
DECODE_CASES = [
    (2, 8, 2, 1, 5000, 128, True, 0, None),  # many splits
    (1, 32, 8, 1, 777, 64, False, 0, 700),
    (1, 6, 1, 1, 300, 80, True, 100, None),  # MQA (G = 6), window
    (1, 12, 1, 1, 90, 256, False, 0, None),  # G = 12 > RMAX: two row groups
    (1, 4, 4, 1, 33, 96, False, 0, 0),  # nothing visible
]


@pytest.mark.parametrize("dt", DTYPES, ids=str)
@pytest.mark.parametrize("case", TILE_CASES + DIM_CASES + DECODE_CASES, ids=str)
def test_fwd(cu, case, dt):  # type: ignore[no-untyped-def]
    _fwd(cu, case, dt)


@pytest.mark.parametrize("dt", [_dt.f16, _dt.bf16], ids=str)
def test_fwd_strided_and_misaligned_views(cu, dt):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    b, h, s, d = 2, 4, 70, 128
    raw = [rng.standard_normal((b, s, h, d + 1)).astype(np.float32) for _ in range(3)]
    # [B, S, H, D+1] buffers viewed as [B, H, S, D] starting one element in: rows not 16-byte aligned
    ts = [cu.from_numpy(a, dt).permute(0, 2, 1, 3).narrow(3, 1, d) for a in raw]
    out, _ = cu.flash_attention_fwd(*ts, causal=True)
    ref, _ = attention_ref(*(t.numpy().astype(np.float64) for t in ts), True)
    assert_close(out.numpy().astype(np.float64), ref, dt, cu.device_name, scale=20)


BWD_CASES = [
    (1, 4, 2, 37, 45, 64, True, 0, None),
    (1, 2, 1, 20, 9, 128, True, 0, None),  # Sk < Sq: rows without keys
    (1, 4, 4, 17, 40, 80, False, 6, 33),
    (2, 2, 2, 1, 50, 32, False, 0, None),
    (1, 2, 1, 9, 12, 256, True, 0, None),
    (1, 2, 2, 33, 33, 96, True, 0, None),
]


@pytest.mark.parametrize("dt", DTYPES, ids=str)
@pytest.mark.parametrize("case", BWD_CASES, ids=str)
def test_bwd(cu, case, dt):  # type: ignore[no-untyped-def]
    b, h, hkv, sq, sk, d, causal, window, kvl = case
    (q, k, v), (qn, kn, vn) = _qkv(cu, b, h, hkv, sq, sk, d, dt, seed=1)
    do = cu.from_numpy(np.random.default_rng(2).standard_normal(qn.shape).astype(np.float32), dt)
    kw = {"causal": causal, "window": window, "kv_seq_len": kvl}
    out, lse = cu.flash_attention_fwd(q, k, v, **kw)
    grads = cu.flash_attention_bwd(do, q, k, v, out, lse, **kw)
    ref = attention_bwd_ref(do.numpy().astype(np.float64), qn, kn, vn, attention_mask(sq, sk, causal, window, kvl),
                            1.0 / math.sqrt(d))  # fmt: skip
    for got, want in zip(grads, ref):
        assert got.dtype is dt
        assert_close(got.numpy().astype(np.float64), want, dt, cu.device_name, scale=50)


# (B, H, Hkv, Sq, D, block_size, context_lens, causal)
PAGED = [
    (3, 8, 2, 1, 128, 16, [1000, 1, 37], True),
    (2, 4, 1, 3, 64, 8, [17, 0], True),
    (2, 6, 3, 2, 80, 4, [9, 30], False),
    (1, 16, 16, 1, 256, 32, [100], True),
]


@pytest.mark.parametrize("dt", DTYPES, ids=str)
@pytest.mark.parametrize("case", PAGED, ids=str)
def test_paged_attention(cu, case, dt):  # type: ignore[no-untyped-def]
    b, h, hkv, sq, d, bs, lens, causal = case
    rng = np.random.default_rng(4)
    mb = -(-max(lens) // bs) + 1
    n = b * mb + 3
    table = rng.permutation(n)[: b * mb].reshape(b, mb)
    q = cu.from_numpy(rng.standard_normal((b, h, sq, d)).astype(np.float32), dt)
    kb, vb = (cu.from_numpy(rng.standard_normal((n, bs, hkv, d)).astype(np.float32), dt) for _ in range(2))
    out = cu.paged_attention_fwd(q, kb, vb, table, np.array(lens), causal=causal)
    ref = paged_attention_ref(*(t.numpy().astype(np.float64) for t in (q, kb, vb)), table, np.array(lens),
                              1.0 / math.sqrt(d), causal)  # fmt: skip
    assert_close(out.numpy().astype(np.float64), ref, dt, cu.device_name, scale=20)


def test_paged_matches_contiguous_decode(cu):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    b, h, hkv, d, ctx, bs = 2, 8, 2, 128, 700, 16
    k = rng.standard_normal((b, hkv, ctx, d)).astype(np.float32)
    v = rng.standard_normal((b, hkv, ctx, d)).astype(np.float32)
    q = rng.standard_normal((b, h, 1, d)).astype(np.float32)
    mb = -(-ctx // bs)
    pad = mb * bs - ctx
    blocks = [np.pad(a, ((0, 0), (0, 0), (0, pad), (0, 0))).reshape(b, hkv, mb, bs, d).transpose(0, 2, 3, 1, 4)
              for a in (k, v)]  # fmt: skip
    kb, vb = (cu.from_numpy(np.ascontiguousarray(x.reshape(b * mb, bs, hkv, d)), _dt.bf16) for x in blocks)
    table = np.arange(b * mb).reshape(b, mb)
    tq = cu.from_numpy(q, _dt.bf16)
    paged = cu.paged_attention_fwd(tq, kb, vb, table, np.full(b, ctx))
    dense, _ = cu.flash_attention_fwd(tq, cu.from_numpy(k, _dt.bf16), cu.from_numpy(v, _dt.bf16), causal=True)
    assert_close(paged.numpy().astype(np.float64), dense.numpy().astype(np.float64), _dt.bf16, cu.device_name)


@pytest.mark.parametrize("dt", DTYPES, ids=str)
@pytest.mark.parametrize("interleaved", [False, True])
def test_rope(cu, dt, interleaved):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(6)
    b, h, s, d, smax = 2, 3, 9, 128, 20
    inv = 10000.0 ** (-np.arange(0, d, 2) / d)
    ang = np.arange(smax)[:, None] * inv[None, :]
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    pos = rng.integers(0, smax, (b, s))
    x = cu.from_numpy(rng.standard_normal((b, s, h, d)).astype(np.float32), dt).permute(0, 2, 1, 3)  # strided
    tc, ts = cu.from_numpy(cos), cu.from_numpy(sin)
    out = cu.apply_rope(x, tc, ts, interleaved=interleaved, position_ids=cu.from_numpy(pos))
    xn = x.numpy().astype(np.float64)
    assert_close(out.numpy().astype(np.float64), rope_ref(xn, cos, sin, interleaved, pos), dt, cu.device_name,
                 scale=4)  # fmt: skip
    back = cu.apply_rope_backward(out, tc, ts, interleaved=interleaved, position_ids=cu.from_numpy(pos))
    assert_close(back.numpy().astype(np.float64), xn, dt, cu.device_name, scale=10)


@pytest.mark.parametrize("dt", DTYPES, ids=str)
@pytest.mark.parametrize(("fmt", "group"), [("fp8_e4m3", 64), ("int8", 64), ("int4", 32), ("int4", 128)])
def test_kv_quant_bit_exact_vs_cpu(cu, dt, fmt, group):  # type: ignore[no-untyped-def]
    cpu = boostr.get_client("cpu")
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((3, 4, 256)) * rng.uniform(0.1, 5.0, (3, 4, 1))).astype(np.float32)
    x[0, 0] = 0.0
    xc = cu.from_numpy(x, dt)
    got = cu.quantize_kv(xc, fmt, group_size=group)
    want = cpu.quantize_kv(cpu.from_numpy(xc.numpy(), dt), fmt, group_size=group)
    for g, w in zip(got, want):
        if w is None:
            assert g is None
            continue
        assert np.array_equal(g.numpy(), w.numpy())
    back = cu.dequantize_kv(*got, fmt, group_size=group, dtype=dt)
    wback = cpu.dequantize_kv(*want, fmt, group_size=group, dtype=dt)
    assert np.array_equal(back.numpy(), wback.numpy())


@pytest.mark.parametrize("dt", [_dt.f32, _dt.f16, _dt.fp8_e4m3], ids=str)
def test_reshape_and_cache(cu, dt):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(8)
    n, bs, hkv, d, t = 6, 4, 2, 64, 9
    kb = cu.zeros(n, bs, hkv, d, dtype=dt)
    vb = cu.zeros(n, bs, hkv, d, dtype=dt)
    k = rng.standard_normal((t, hkv, d)).astype(np.float32)
    v = rng.standard_normal((t, hkv, d)).astype(np.float32)
    slots = np.array([3, -1, 0, 23, 5, -1, 8, 17, 12])
    cu.reshape_and_cache(cu.from_numpy(k), cu.from_numpy(v), kb, vb, cu.from_numpy(slots))
    kc, vc = cu.cast(cu.from_numpy(k), dt).numpy(), cu.cast(cu.from_numpy(v), dt).numpy()
    fk, fv = kb.numpy().reshape(n * bs, hkv, d), vb.numpy().reshape(n * bs, hkv, d)
    for i, s in enumerate(slots):
        if s >= 0:
            assert np.array_equal(fk[s], kc[i]) and np.array_equal(fv[s], vc[i])
    assert not fk[1].any()  # untouched slot
