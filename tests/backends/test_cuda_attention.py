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
    (2, 8, 8, 1, 3000, 128, False, 0, None),  # group size 1, many splits
    (1, 16, 2, 1, 4099, 64, False, 0, None),  # G = 8, context not a multiple of the split / key tile
    (1, 32, 1, 1, 1000, 128, True, 0, 997),  # MQA G = 32: two 16-row groups on tensor cores
    (1, 20, 1, 1, 700, 96, False, 0, None),  # G = 20: a partial second row group
    (2, 4, 2, 1, 2500, 256, False, 0, None),  # D = 256, many splits
    (1, 4, 1, 1, 1500, 80, True, 513, None),  # D = 80, window starts mid-tile
    (1, 4, 2, 1, 1, 32, False, 0, None),  # one key
]


@pytest.mark.parametrize("dt", DTYPES, ids=str)
@pytest.mark.parametrize("case", TILE_CASES + DIM_CASES + DECODE_CASES, ids=str)
def test_fwd(cu, case, dt):  # type: ignore[no-untyped-def]
    _fwd(cu, case, dt)


@pytest.mark.parametrize("dt", DTYPES, ids=str)
def test_decode_growing_scores(cu, dt):  # type: ignore[no-untyped-def]
    """Scores rising along the context: the running max moves many times (lazy rescale) within a split."""
    rng = np.random.default_rng(9)
    b, h, hkv, sk, d = 1, 8, 2, 3000, 128
    q = np.ones((b, h, 1, d), np.float32) + 0.1 * rng.standard_normal((b, h, 1, d)).astype(np.float32)
    ramp = np.linspace(-4.0, 4.0, sk, dtype=np.float32).reshape(1, 1, sk, 1)
    k = ramp + 0.1 * rng.standard_normal((b, hkv, sk, d)).astype(np.float32)
    v = rng.standard_normal((b, hkv, sk, d)).astype(np.float32)
    ts = [cu.from_numpy(a, dt) for a in (q, k, v)]
    out, lse = cu.flash_attention_fwd(*ts)
    ro, rl = attention_ref(*(t.numpy().astype(np.float64) for t in ts))
    assert_close(out.numpy().astype(np.float64), ro, dt, cu.device_name, scale=20)
    assert_close(lse.numpy(), rl, _dt.f32, cu.device_name, scale=20)


@pytest.mark.parametrize("dt", [_dt.f16, _dt.bf16], ids=str)
def test_decode_strided_views(cu, dt):  # type: ignore[no-untyped-def]
    """Decode over a [B, Hkv, Smax, D] cache narrowed to the filled length, and a misaligned K/V view."""
    rng = np.random.default_rng(10)
    b, h, hkv, smax, sk, d = 2, 8, 2, 512, 300, 64
    q = cu.from_numpy(rng.standard_normal((b, h, 1, d)).astype(np.float32), dt)
    kc = cu.from_numpy(rng.standard_normal((b, hkv, smax, d)).astype(np.float32), dt).narrow(2, 0, sk)
    raw = cu.from_numpy(rng.standard_normal((b, sk, hkv, d + 1)).astype(np.float32), dt)
    vc = raw.permute(0, 2, 1, 3).narrow(3, 1, d)  # rows not 16-byte aligned, strides unlike k's
    out, _ = cu.flash_attention_fwd(q, kc, vc)
    ref, _ = attention_ref(*(t.numpy().astype(np.float64) for t in (q, kc, vc)))
    assert_close(out.numpy().astype(np.float64), ref, dt, cu.device_name, scale=20)


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
    (3, 32, 8, 1, 128, 16, [3000, 0, 1], True),  # the benchmark's GQA 4, many splits, lens 0 and 1
    (2, 8, 1, 3, 64, 5, [200, 7], True),  # block size 5, G * Sq = 24 rows: two row groups, causal Sq 3
    (1, 2, 2, 2, 96, 16, [1030], False),  # group size 1, two queries, not causal
    (2, 16, 2, 1, 256, 8, [600, 333], True),  # D = 256
    (1, 8, 2, 4, 80, 16, [70], True),  # D = 80, speculative Sq 4
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


@pytest.mark.parametrize("dt", [_dt.f32, _dt.bf16], ids=str)
def test_paged_attention_clamps_table(cu, dt):  # type: ignore[no-untyped-def]
    """Table entries past the context hold garbage (negative, past the pool): clamped, never read out of bounds."""
    rng = np.random.default_rng(11)
    b, h, hkv, d, bs, lens = 2, 8, 2, 128, 16, [40, 17]
    mb, n = 6, 8
    table = rng.permutation(n)[: b * 3].reshape(b, 3)
    table = np.concatenate([table, np.array([[-7, 10**9, -1], [10**9, -3, 99]])], axis=1)
    assert table.shape == (b, mb)
    q = cu.from_numpy(rng.standard_normal((b, h, d)).astype(np.float32), dt)
    kb, vb = (cu.from_numpy(rng.standard_normal((n, bs, hkv, d)).astype(np.float32), dt) for _ in range(2))
    out = cu.paged_attention_fwd(q, kb, vb, table, np.array(lens))
    q4 = q.numpy().astype(np.float64)[:, :, None]
    ref = paged_attention_ref(q4, *(t.numpy().astype(np.float64) for t in (kb, vb)), table, np.array(lens),
                              1.0 / math.sqrt(d), True)  # fmt: skip
    assert_close(out.numpy().astype(np.float64), ref[:, :, 0], dt, cu.device_name, scale=20)


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


# ---------------------------------------------------------------- packed (varlen) attention and ALiBi
# (cu_q, cu_k, H, Hkv, D, causal): empty and length-1 sequences, sequences with queries but no keys,
# odd lengths across the 64-row tensor-core / 16-row SIMT blocks, GQA 1 / H / 4 / H, head dims 64 / 128 / 80 / 256
VARLEN_CASES = [
    ([0, 3, 3, 4, 9], [0, 5, 7, 8, 8], 4, 4, 64, True),
    ([0, 1, 6, 6, 13], [0, 4, 10, 12, 19], 8, 2, 128, False),
    ([0, 2, 7], [0, 0, 9], 4, 1, 64, True),  # the first sequence has no key at all
    ([0, 70, 71, 200], [0, 66, 67, 300], 8, 1, 128, True),  # several query / key tiles, MQA
    ([0, 65, 130, 131], [0, 65, 200, 201], 4, 4, 80, True),  # odd head dim: the SIMT kernels
    ([0, 1, 2, 3], [0, 1, 2, 3], 2, 2, 64, False),  # every sequence of length 1
    ([0, 37, 37, 100], [0, 20, 20, 150], 6, 2, 256, True),  # GQA 3, D 256, Sq > Sk in the first
]


def _packed(cu, cu_q, cu_k, h, hkv, d, dt, seed=0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    shapes = ((cu_q[-1], h, d), (cu_k[-1], hkv, d), (cu_k[-1], hkv, d), (cu_q[-1], h, d))
    ts = [cu.from_numpy(rng.standard_normal(s).astype(np.float32), dt) for s in shapes]
    return ts, [t.numpy().astype(np.float64) for t in ts]


def _longest(cu_):  # type: ignore[no-untyped-def]
    return int(np.diff(cu_).max())


@pytest.mark.parametrize("dt", DTYPES, ids=str)
@pytest.mark.parametrize("case", VARLEN_CASES, ids=str)
def test_varlen_fwd(cu, case, dt):  # type: ignore[no-untyped-def]
    from boostr.ops.generic import varlen_attention as gen
    from boostr.testing.attention_refs import varlen_attention_ref

    cu_q, cu_k, h, hkv, d, causal = case
    (q, k, v, _), (qn, kn, vn, _) = _packed(cu, cu_q, cu_k, h, hkv, d, dt)
    lens = (_longest(cu_q), _longest(cu_k))
    cu.varlen_attention_fwd(q, k, v, cu_q, cu_k, *lens, causal=causal)  # uploads the cu_seqlens once
    with cu.count_transfers() as t:
        out, lse = cu.varlen_attention_fwd(q, k, v, cu_q, cu_k, *lens, causal=causal)
    assert t.total == 0  # the same packing again: cached on the device
    assert out.shape == q.shape and out.dtype is dt and lse.shape == (h, cu_q[-1]) and lse.dtype is _dt.f32
    scale = 1.0 / math.sqrt(d)
    assert_close(out.numpy().astype(np.float64), varlen_attention_ref(qn, kn, vn, cu_q, cu_k, causal, scale), dt,
                 cu.device_name, scale=20)  # fmt: skip
    go, gl = gen.varlen_attention_fwd(cu, q, k, v, cu_q, cu_k, causal, scale)
    assert_close(out.numpy().astype(np.float64), go.numpy().astype(np.float64), dt, cu.device_name, scale=20)
    lv, glv = lse.numpy(), gl.numpy()
    assert np.array_equal(np.isneginf(lv), np.isneginf(glv))  # queries without keys: -inf exactly
    fin = np.isfinite(glv)
    assert_close(lv[fin], glv[fin], _dt.f32, cu.device_name, scale=20)


@pytest.mark.parametrize("dt", DTYPES, ids=str)
@pytest.mark.parametrize("case", VARLEN_CASES, ids=str)
def test_varlen_bwd(cu, case, dt):  # type: ignore[no-untyped-def]
    from boostr.ops.generic import varlen_attention as gen
    from boostr.testing.attention_refs import varlen_attention_bwd_ref

    cu_q, cu_k, h, hkv, d, causal = case
    (q, k, v, do), (qn, kn, vn, don) = _packed(cu, cu_q, cu_k, h, hkv, d, dt, seed=1)
    lens = (_longest(cu_q), _longest(cu_k))
    out, lse = cu.varlen_attention_fwd(q, k, v, cu_q, cu_k, *lens, causal=causal)
    grads = cu.varlen_attention_bwd(do, q, k, v, out, lse, cu_q, cu_k, *lens, causal=causal)
    scale = 1.0 / math.sqrt(d)
    ref = varlen_attention_bwd_ref(don, qn, kn, vn, cu_q, cu_k, causal, scale)
    generic = gen.varlen_attention_bwd(cu, do, q, k, v, out, lse, cu_q, cu_k, causal, scale)
    for got, want, g in zip(grads, ref, generic):
        assert got.dtype is dt and got.shape == g.shape
        assert_close(got.numpy().astype(np.float64), want, dt, cu.device_name, scale=50)
        assert_close(got.numpy().astype(np.float64), g.numpy().astype(np.float64), dt, cu.device_name, scale=50)


@pytest.mark.parametrize("dt", [_dt.f32, _dt.bf16], ids=str)
def test_varlen_fused_qkv_views(cu, dt):  # type: ignore[no-untyped-def]
    """q, k, v as head slices of one packed [T, H + 2 Hkv, D] projection: read in place through their strides."""
    from boostr.testing.attention_refs import varlen_attention_bwd_ref, varlen_attention_ref

    rng = np.random.default_rng(12)
    cu_q = [0, 5, 5, 38, 39]
    h, hkv, d = 8, 2, 128
    qkv = cu.from_numpy(rng.standard_normal((cu_q[-1], h + 2 * hkv, d)).astype(np.float32), dt)
    q, k, v = qkv.narrow(1, 0, h), qkv.narrow(1, h, hkv), qkv.narrow(1, h + hkv, hkv)
    do = cu.from_numpy(rng.standard_normal((cu_q[-1], h, d)).astype(np.float32), dt)
    out, lse = cu.varlen_attention_fwd(q, k, v, cu_q, cu_q, 33, 33, causal=True)
    qn, kn, vn, don = (t.numpy().astype(np.float64) for t in (q, k, v, do))
    scale = 1.0 / math.sqrt(d)
    want = varlen_attention_ref(qn, kn, vn, cu_q, cu_q, True, scale)
    assert_close(out.numpy().astype(np.float64), want, dt, cu.device_name, scale=20)
    grads = cu.varlen_attention_bwd(do, q, k, v, out, lse, cu_q, cu_q, 33, 33, causal=True)
    for got, ref in zip(grads, varlen_attention_bwd_ref(don, qn, kn, vn, cu_q, cu_q, True, scale)):
        assert_close(got.numpy().astype(np.float64), ref, dt, cu.device_name, scale=50)


@pytest.mark.parametrize("dt", [_dt.f16, _dt.f32], ids=str)
def test_varlen_many_sequences(cu, dt):  # type: ignore[no-untyped-def]
    """300 sequences of lengths 0..40 (q and k differ) in one launch per pass, vs the per-sequence composite."""
    from boostr.ops.generic import varlen_attention as gen

    rng = np.random.default_rng(13)
    lq, lk = rng.integers(0, 41, 300), rng.integers(0, 41, 300)
    lq[7], lk[7], lq[8], lk[9] = 0, 0, 1, 0
    cu_q, cu_k = [0, *np.cumsum(lq).tolist()], [0, *np.cumsum(lk).tolist()]
    (q, k, v, do), _ = _packed(cu, cu_q, cu_k, 4, 2, 64, dt, seed=3)
    scale = 1.0 / math.sqrt(64)
    out, lse = cu.varlen_attention_fwd(q, k, v, cu_q, cu_k, 40, 40, causal=True)
    go, gl = gen.varlen_attention_fwd(cu, q, k, v, cu_q, cu_k, True, scale)
    assert_close(out.numpy().astype(np.float64), go.numpy().astype(np.float64), dt, cu.device_name, scale=20)
    assert_close(lse.numpy(), gl.numpy(), _dt.f32, cu.device_name, scale=20)
    grads = cu.varlen_attention_bwd(do, q, k, v, out, lse, cu_q, cu_k, 40, 40, causal=True)
    generic = gen.varlen_attention_bwd(cu, do, q, k, v, out, lse, cu_q, cu_k, True, scale)
    for a, e in zip(grads, generic):
        assert_close(a.numpy().astype(np.float64), e.numpy().astype(np.float64), dt, cu.device_name, scale=50)


def test_varlen_no_queries_or_keys(cu):  # type: ignore[no-untyped-def]
    (q, k, v, do), _ = _packed(cu, [0, 0, 0], [0, 3, 5], 2, 2, 64, _dt.f16)
    out, lse = cu.varlen_attention_fwd(q, k, v, [0, 0, 0], [0, 3, 5], 0, 3)
    assert out.shape == (0, 2, 64) and lse.shape == (2, 0)
    grads = cu.varlen_attention_bwd(do, q, k, v, out, lse, [0, 0, 0], [0, 3, 5], 0, 3)
    assert not grads[1].numpy().any() and not grads[2].numpy().any()
    (q, k, v, do), _ = _packed(cu, [0, 2, 5], [0, 0, 0], 2, 1, 80, _dt.f32)
    out, lse = cu.varlen_attention_fwd(q, k, v, [0, 2, 5], [0, 0, 0], 3, 0, causal=True)
    assert not out.numpy().any() and np.all(np.isneginf(lse.numpy()))
    grads = cu.varlen_attention_bwd(do, q, k, v, out, lse, [0, 2, 5], [0, 0, 0], 3, 0, causal=True)
    assert not grads[0].numpy().any()


# (B, H, Hkv, Sq, Sk, D, causal, window, kv_seq_len)
ALIBI_CASES = [
    (1, 4, 4, 7, 9, 64, False, 0, None),  # non-causal: |p_i - j| on both sides
    (2, 8, 2, 130, 200, 128, True, 0, None),  # several tiles, GQA 4
    (1, 6, 1, 37, 45, 80, True, 0, None),  # odd head dim (SIMT), MQA, 6 heads
    (1, 4, 2, 100, 100, 64, True, 37, None),  # sliding window inside tiles
    (1, 2, 2, 5, 300, 64, False, 0, 129),  # kv_seq_len moves p_i
    (2, 8, 2, 1, 500, 128, True, 0, None),  # decode (Sq 1 runs the forward kernels)
    (1, 4, 4, 70, 30, 128, True, 0, None),  # Sk < Sq: rows that see nothing
    (1, 2, 1, 9, 12, 256, True, 0, None),
]


def _alibi_bias(h, sq, sk, kvl):  # type: ignore[no-untyped-def]
    from boostr.testing.attention_refs import alibi_flash_bias_ref, alibi_slopes_ref

    return alibi_flash_bias_ref(alibi_slopes_ref(h), sq, sk, kvl)


@pytest.mark.parametrize("dt", DTYPES, ids=str)
@pytest.mark.parametrize("case", ALIBI_CASES, ids=str)
def test_alibi_fwd(cu, case, dt):  # type: ignore[no-untyped-def]
    b, h, hkv, sq, sk, d, causal, window, kvl = case
    (q, k, v), (qn, kn, vn) = _qkv(cu, b, h, hkv, sq, sk, d, dt)
    sl = cu.alibi_slopes(h)
    kw = {"causal": causal, "window": window, "kv_seq_len": kvl, "alibi_slopes": sl}
    with cu.count_transfers() as t:
        out, lse = cu.flash_attention_fwd(q, k, v, **kw)
    assert t.total == 0
    ro, rl = attention_ref(qn, kn, vn, causal, window, kvl, bias=_alibi_bias(h, sq, sk, kvl))
    assert out.shape == (b, h, sq, d) and out.dtype is dt and lse.dtype is _dt.f32
    assert_close(out.numpy().astype(np.float64), ro, dt, cu.device_name, scale=20)
    lv = lse.numpy()
    assert np.array_equal(np.isneginf(lv), np.isneginf(rl))
    fin = np.isfinite(rl)
    if fin.any():
        assert_close(lv[fin], rl[fin], _dt.f32, cu.device_name, scale=20)
    assert np.all(out.numpy()[np.isneginf(rl)] == 0)


@pytest.mark.parametrize("dt", DTYPES, ids=str)
@pytest.mark.parametrize("case", [c for c in ALIBI_CASES if c[3] > 1] + [(2, 2, 2, 1, 50, 32, False, 0, None)], ids=str)
def test_alibi_bwd(cu, case, dt):  # type: ignore[no-untyped-def]
    from boostr.ops.generic import attention_bwd as gen_bwd
    from boostr.ops.generic.attention_mask import AttnSpec

    b, h, hkv, sq, sk, d, causal, window, kvl = case
    (q, k, v), (qn, kn, vn) = _qkv(cu, b, h, hkv, sq, sk, d, dt, seed=1)
    do = cu.from_numpy(np.random.default_rng(2).standard_normal(qn.shape).astype(np.float32), dt)
    sl = cu.alibi_slopes(h)
    kw = {"causal": causal, "window": window, "kv_seq_len": kvl, "alibi_slopes": sl}
    out, lse = cu.flash_attention_fwd(q, k, v, **kw)
    grads = cu.flash_attention_bwd(do, q, k, v, out, lse, **kw)
    mask = attention_mask(sq, sk, causal, window, kvl)
    ref = attention_bwd_ref(do.numpy().astype(np.float64), qn, kn, vn, mask, 1.0 / math.sqrt(d),
                            bias=_alibi_bias(h, sq, sk, kvl))  # fmt: skip
    spec = AttnSpec(causal, window, sk if kvl is None else kvl, 1.0 / math.sqrt(d))
    generic = gen_bwd.flash_attention_bwd(cu, do, q, k, v, out, lse, spec, sl)
    for got, want, g in zip(grads, ref, generic):
        assert got.dtype is dt
        assert_close(got.numpy().astype(np.float64), want, dt, cu.device_name, scale=50)
        assert_close(got.numpy().astype(np.float64), g.numpy().astype(np.float64), dt, cu.device_name, scale=50)


@pytest.mark.parametrize("sdt", [_dt.f16, _dt.bf16], ids=str)
def test_alibi_half_slopes(cu, sdt):  # type: ignore[no-untyped-def]
    """Slopes given in a half dtype are read as f32 (a device cast): same result as the f32 slopes rounded."""
    (q, k, v), _ = _qkv(cu, 1, 4, 2, 40, 40, 64, _dt.f16)
    sl = cu.cast(cu.alibi_slopes(4), sdt)
    out, _ = cu.flash_attention_fwd(q, k, v, causal=True, alibi_slopes=sl)
    want, _ = cu.flash_attention_fwd(q, k, v, causal=True, alibi_slopes=cu.cast(sl, _dt.f32))
    assert np.array_equal(out.numpy(), want.numpy())
