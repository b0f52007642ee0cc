"""WebGPU attention-family kernels: what the shared conformance tests do not reach.

Tile-boundary sizes, the f16 path against f32, flash decoding with many splits, a 16 KiB
workgroup-storage adapter (tiles read from global memory), paged decode with long shuffled
contexts, packed (fp8 / bf16) cache writes, fp8 quantization with D % 4 != 0, packed (varlen)
batches with empty / length-1 sequences, GQA, windows and ALiBi through the VARLEN kernels, and that
each op runs its fused kernels (dispatch counts) without host transfers.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import boostr
from boostr import dtype as _dt
from boostr.ops.generic import kv_cache_quant as genq
from boostr.ops.wgpu import attention as wattn
from boostr.runtime.registry import backend_status
from boostr.testing.attention_refs import (
    alibi_flash_bias_ref,
    attention_bwd_ref,
    attention_mask,
    attention_ref,
    paged_attention_ref,
)
from boostr.testing.tolerances import assert_close, assert_equal

pytestmark = pytest.mark.skipif(backend_status("wgpu") is not None, reason="wgpu backend unavailable")


@pytest.fixture(scope="module")
def wc():  # type: ignore[no-untyped-def]
    return boostr.get_client("wgpu")


def _qkv(b, h, hkv, sq, sk, d, seed=0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in ((b, h, sq, d), (b, hkv, sk, d), (b, hkv, sk, d))]


def _dispatches(wc, fn):  # type: ignore[no-untyped-def]
    wc.sync()
    n0 = wc.engine.stats["dispatches"]
    with wc.count_transfers() as t:
        res = fn()
    assert t.total == 0
    return res, wc.engine.stats["dispatches"] - n0


def _fwd_check(wc, case, dt=_dt.f32, tol_dt=_dt.f32):  # type: ignore[no-untyped-def]
    b, h, hkv, sq, sk, d, causal, window, kvl = case
    arrs = _qkv(b, h, hkv, sq, sk, d)
    q, k, v = (wc.from_numpy(a, dt) for a in arrs)
    (out, lse), n = _dispatches(wc, lambda: wc.flash_attention_fwd(q, k, v, causal=causal, window=window,
                                                                   kv_seq_len=kvl))  # fmt: skip
    ro, rl = attention_ref(*(t.numpy().astype(np.float64) for t in (q, k, v)), causal, window, kvl)
    assert_close(out.numpy().astype(np.float64), ro, tol_dt, wc.device_name, scale=20)
    assert_close(lse.numpy(), rl, _dt.f32, wc.device_name, scale=20)
    return n


# rows (Sq * G) and keys straddling the 16/32/64 tile edges; the 64-row decode limit; odd head dims
@pytest.mark.parametrize(
    "case",
    [(1, 2, 1, 32, 64, 64, True, 0, None), (1, 2, 2, 65, 129, 64, True, 0, 100), (1, 4, 1, 17, 33, 32, False, 5, None),
     (1, 2, 2, 33, 31, 80, True, 0, None), (1, 2, 1, 64, 65, 96, False, 0, None)],
    ids=str,
)  # fmt: skip
def test_fwd_tile_boundaries(wc, case):  # type: ignore[no-untyped-def]
    assert _fwd_check(wc, case) == 1  # one fused dispatch, no combine


def test_f16_path_matches_f32(wc):  # type: ignore[no-untyped-def]
    if _dt.f16 not in wc.compute_dtypes:
        pytest.skip("no shader-f16 here")
    arrs = [a.astype(np.float16) for a in _qkv(1, 4, 2, 70, 90, 64, seed=3)]
    o16, l16 = wc.flash_attention_fwd(*(wc.from_numpy(a) for a in arrs), causal=True)
    o32, l32 = wc.flash_attention_fwd(*(wc.from_numpy(a.astype(np.float32)) for a in arrs), causal=True)
    assert o16.dtype is _dt.f16 and l16.dtype is _dt.f32
    assert_close(o16.numpy(), o32.numpy(), _dt.f16, wc.device_name)  # only the output rounding differs
    assert_close(l16.numpy(), l32.numpy(), _dt.f32, wc.device_name)


@pytest.mark.parametrize(("kvl", "window"), [(None, 0), (3001, 0), (2500, 700)])
def test_decode_many_splits(wc, monkeypatch, kvl, window):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(wattn, "MIN_SPLIT_KEYS", 32)
    monkeypatch.setattr(wattn, "_adapter_target", lambda client: 4096)
    n = _fwd_check(wc, (1, 8, 2, 1, 3200, 64, True, window, kvl))
    assert n == 2  # the split partials and the log-sum-exp combine


def test_small_workgroup_storage(wc, monkeypatch):  # type: ignore[no-untyped-def]
    """A 16 KiB adapter: D=256 f32 tiles do not fit, Q / K / V / dout are read from global memory."""
    monkeypatch.setitem(wc.limits, "max-compute-workgroup-storage-size", 16384)
    cfg = wattn.fwd_tiles(256, 200, 16, 16384)
    assert cfg["QS"] == "false"
    assert wattn.bwd_tiles(256, 16, 16384, True)["VS"] == "false"
    _fwd_check(wc, (1, 2, 1, 100, 70, 256, True, 0, None))
    _bwd_check(wc, (1, 2, 1, 40, 33, 256, True, 0, None))


def _bwd_check(wc, case):  # type: ignore[no-untyped-def]
    b, h, hkv, sq, sk, d, causal, window, kvl = case
    qn, kn, vn = _qkv(b, h, hkv, sq, sk, d, seed=1)
    don = np.random.default_rng(2).standard_normal(qn.shape).astype(np.float32)
    q, k, v, do = (wc.from_numpy(a) for a in (qn, kn, vn, don))
    kw = {"causal": causal, "window": window, "kv_seq_len": kvl}
    out, lse = wc.flash_attention_fwd(q, k, v, **kw)
    grads, n = _dispatches(wc, lambda: wc.flash_attention_bwd(do, q, k, v, out, lse, **kw))
    assert n == 3  # delta prep, dQ, dK/dV
    ref = attention_bwd_ref(don, qn, kn, vn, attention_mask(sq, sk, causal, window, kvl), 1.0 / math.sqrt(d))
    for got, want in zip(grads, ref):
        assert_close(got.numpy(), want, _dt.f32, wc.device_name, scale=50)


@pytest.mark.parametrize("case", [(1, 4, 1, 65, 97, 64, True, 0, None), (2, 2, 2, 33, 20, 32, True, 6, 17)], ids=str)
def test_bwd_tile_boundaries(wc, case):  # type: ignore[no-untyped-def]
    _bwd_check(wc, case)


def test_paged_long_context_splits(wc, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(wattn, "MIN_SPLIT_KEYS", 64)
    monkeypatch.setattr(wattn, "_adapter_target", lambda client: 4096)
    rng = np.random.default_rng(5)
    b, h, hkv, d, bs, lens = 3, 8, 2, 64, 16, [700, 0, 1]
    mb = 48
    n = b * mb + 1
    table = rng.permutation(n)[: b * mb].reshape(b, mb)
    table[1] = 10**6  # unused entries hold anything: clamped, never dereferenced past context_lens
    q = rng.standard_normal((b, h, 1, d)).astype(np.float32)
    kb, vb = (rng.standard_normal((n, bs, hkv, d)).astype(np.float32) for _ in range(2))
    qt, *args = (wc.from_numpy(a) for a in (q[:, :, 0], kb, vb, table, np.array(lens)))
    out, nd = _dispatches(wc, lambda: wc.paged_attention_fwd(qt, *args))
    assert nd == 2
    ref = paged_attention_ref(q, kb, vb, np.clip(table, 0, n - 1), np.array(lens), 1.0 / math.sqrt(d), True)
    assert_close(out.numpy(), ref[:, :, 0], _dt.f32, wc.device_name, scale=20)


@pytest.mark.parametrize("dt", [_dt.bf16, _dt.fp8_e4m3], ids=str)
def test_reshape_and_cache_packed_blocks(wc, dt):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(6)
    n, bs, hkv, d, t = 3, 4, 2, 32, 5
    kb = np.zeros((n, bs, hkv, d), np.float32)
    k = (rng.standard_normal((t, hkv, d)) * 100).astype(np.float32)
    v = rng.standard_normal((t, hkv, d)).astype(np.float32)
    slots = np.array([3, -1, 7, 0, 500])  # 500 is past the cache: clamped to the last slot
    tkb, tvb = wc.from_numpy(kb, dt), wc.from_numpy(kb, dt)
    src = [wc.from_numpy(a) for a in (k, v, slots)]
    _, nd = _dispatches(wc, lambda: wc.reshape_and_cache(src[0], src[1], tkb, tvb, src[2]))
    assert nd == 1
    want_k, want_v = tkb.numpy().astype(np.float32), tvb.numpy().astype(np.float32)
    for arr, s_ in ((want_k, k), (want_v, v)):
        flat = arr.reshape(n * bs, hkv, d)
        for i, s in enumerate(slots):
            if s >= 0:
                flat[min(s, n * bs - 1)] = wc.cast(wc.from_numpy(s_[i]), dt).numpy().astype(np.float32)
    assert_equal(tkb.numpy().astype(np.float32), want_k, "k_blocks")
    assert_equal(tvb.numpy().astype(np.float32), want_v, "v_blocks")


@pytest.mark.parametrize("d", [6, 128])
def test_fp8_quant_matches_generic(wc, d):  # type: ignore[no-untyped-def]
    x = (np.random.default_rng(7).standard_normal((3, 5, d)) * 30).astype(np.float32)
    x[1, 2] = 0.0
    tx = wc.from_numpy(x)
    (data, scale, zero), nd = _dispatches(wc, lambda: wc.quantize_kv(tx, "fp8_e4m3"))
    assert nd == 1 and zero is None and data.dtype is _dt.fp8_e4m3
    gd, gs, _ = genq.quantize(wc, tx, "fp8_e4m3", 0)
    assert_equal(data.numpy().view(np.uint8), gd.numpy().view(np.uint8), "fp8 codes")
    assert_equal(scale.numpy(), gs.numpy(), "scales")
    back, nd = _dispatches(wc, lambda: wc.dequantize_kv(data, scale, None, "fp8_e4m3", dtype=_dt.f16))
    assert nd == 1 and back.dtype is _dt.f16
    want = genq.dequantize(wc, gd, gs, None, "fp8_e4m3", 0, _dt.f16)
    assert_equal(back.numpy(), want.numpy(), "dequantized")


def test_rope_strided_view_one_dispatch(wc):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 5, 3, 32)).astype(np.float32)  # [B, S, H, D] viewed as [B, H, S, D]
    cos, sin, _ = wc.rope_frequencies(32, 16)
    pos = wc.from_numpy(np.array([[4, 1, 20, 3, 0], [7, 7, 2, 9, 15]]))  # 20 clamps to 15
    xt = wc.from_numpy(x).permute(0, 2, 1, 3)
    out, nd = _dispatches(wc, lambda: wc.apply_rope(xt, cos, sin, interleaved=True, position_ids=pos))
    assert nd == 1
    c, s = cos.numpy(), sin.numpy()
    p = np.minimum(pos.numpy(), 15)[:, None, :, None]
    xs = x.transpose(0, 2, 1, 3).astype(np.float64)
    a, b_ = xs[..., 0::2], xs[..., 1::2]
    cc, ss = c[p[..., 0]], s[p[..., 0]]
    want = np.stack([a * cc - b_ * ss, a * ss + b_ * cc], -1).reshape(xs.shape)
    assert_close(out.numpy(), want, _dt.f32, wc.device_name, scale=4)


@pytest.mark.parametrize("case", [(1, 8, 2, 37, 40, 64, True, 0, None), (2, 4, 1, 1, 300, 32, False, 0, 250)], ids=str)
def test_alibi_fused_matches_generic(wc, case):  # type: ignore[no-untyped-def]
    from boostr.ops.generic import attention as gen_fwd
    from boostr.ops.generic import attention_bwd as gen_bwd
    from boostr.ops.generic.attention_mask import AttnSpec
    from boostr.ops.traits.attention import AttentionOps

    if not hasattr(AttentionOps, "_flash_attention_fwd_alibi"):
        pytest.skip("the attention trait has no ALiBi hook")
    b, h, hkv, sq, sk, d, causal, window, kvl = case
    q, k, v = (wc.from_numpy(a) for a in _qkv(b, h, hkv, sq, sk, d, seed=9))
    do = wc.from_numpy(np.random.default_rng(10).standard_normal(q.shape).astype(np.float32))
    sl = wc.alibi_slopes(h)
    kw = {"causal": causal, "window": window, "kv_seq_len": kvl, "alibi_slopes": sl}
    (out, lse), n = _dispatches(wc, lambda: wc.flash_attention_fwd(q, k, v, **kw))
    assert n == 1
    grads, n = _dispatches(wc, lambda: wc.flash_attention_bwd(do, q, k, v, out, lse, **kw))
    assert n == 3
    spec = AttnSpec(causal, window, sk if kvl is None else kvl, 1.0 / math.sqrt(d))
    go, gl = gen_fwd.flash_attention_fwd(wc, q, k, v, spec, sl)
    assert_close(out.numpy(), go.numpy(), _dt.f32, wc.device_name, scale=20)
    assert_close(lse.numpy(), gl.numpy(), _dt.f32, wc.device_name, scale=20)
    for a, e in zip(grads, gen_bwd.flash_attention_bwd(wc, do, q, k, v, out, lse, spec, sl)):
        assert_close(a.numpy(), e.numpy(), _dt.f32, wc.device_name, scale=50)


# ---------------------------------------------------------------- packed (varlen) attention
# (cu_q, cu_k): empty and length-1 sequences, a sequence with queries and no keys, one with keys and no
# queries, and a long one whose rows (x G) and keys cross the 32/64 tiles
VARLEN_CASES = [
    ([0, 3, 3, 4, 9], [0, 5, 7, 8, 8]),
    ([0, 1, 41, 41, 43], [0, 1, 71, 74, 74]),
    ([0, 2, 2, 7], [0, 0, 3, 12]),
]


def _packed(cu_q, cu_k, h, hkv, d, seed=12):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32)
            for s in ((cu_q[-1], h, d), (cu_k[-1], hkv, d), (cu_k[-1], hkv, d), (cu_q[-1], h, d))]  # fmt: skip


def _packed_ref(qn, kn, vn, don, cu_q, cu_k, causal, window=0, slopes=None):  # type: ignore[no-untyped-def]
    """Float64 (out, lse [H, Tq], dq, dk, dv), one dense reference per sequence (window and ALiBi too)."""
    h, d = qn.shape[1], qn.shape[2]
    out, lse = np.zeros(qn.shape), np.full((h, qn.shape[0]), -np.inf)
    grads = [np.zeros(a.shape) for a in (qn, kn, vn)]
    for s in range(len(cu_q) - 1):
        q0, q1, k0, k1 = cu_q[s], cu_q[s + 1], cu_k[s], cu_k[s + 1]
        if q1 == q0:
            continue
        seq = [a[lo:hi].astype(np.float64).transpose(1, 0, 2)[None]
               for a, lo, hi in ((qn, q0, q1), (kn, k0, k1), (vn, k0, k1), (don, q0, q1))]  # fmt: skip
        bias = None if slopes is None else alibi_flash_bias_ref(slopes, q1 - q0, k1 - k0)
        o, ls = attention_ref(*seq[:3], causal, window, scale=1.0 / math.sqrt(d), bias=bias)
        out[q0:q1], lse[:, q0:q1] = o[0].transpose(1, 0, 2), ls[0]
        mask = attention_mask(q1 - q0, k1 - k0, causal, window)
        g = attention_bwd_ref(seq[3], *seq[:3], mask, 1.0 / math.sqrt(d), bias)
        for dst, gi, lo, hi in zip(grads, g, (q0, k0, k0), (q1, k1, k1)):
            dst[lo:hi] = gi[0].transpose(1, 0, 2)
    return out, lse, *grads


def _lens(cu):  # type: ignore[no-untyped-def]
    return max(b - a for a, b in itertools.pairwise(cu))


@pytest.mark.parametrize("cu", VARLEN_CASES, ids=str)
@pytest.mark.parametrize(("hkv", "causal"), [(3, True), (1, False), (1, True)])
def test_varlen_fused_one_dispatch(wc, monkeypatch, cu, hkv, causal):  # type: ignore[no-untyped-def]
    """Every sequence in one forward dispatch and three backward ones; the generic never runs."""
    from boostr.ops.generic import varlen_attention as gen

    def no_generic(*a, **kw):  # type: ignore[no-untyped-def]
        raise AssertionError("the generic per-sequence composite ran")

    monkeypatch.setattr(gen, "varlen_attention_fwd", no_generic)
    monkeypatch.setattr(gen, "varlen_attention_bwd", no_generic)
    cu_q, cu_k = cu
    arrs = _packed(cu_q, cu_k, 6, hkv, 64)
    q, k, v, do = (wc.from_numpy(a) for a in arrs)
    lens = (_lens(cu_q), _lens(cu_k))
    wc.varlen_attention_fwd(q, k, v, cu_q, cu_k, *lens, causal=causal)  # uploads this packing's cu_seqlens
    (out, lse), n = _dispatches(wc, lambda: wc.varlen_attention_fwd(q, k, v, cu_q, cu_k, *lens, causal=causal))
    assert n == 1
    grads, n = _dispatches(wc, lambda: wc.varlen_attention_bwd(do, q, k, v, out, lse, cu_q, cu_k, *lens,
                                                               causal=causal))  # fmt: skip
    assert n == 3  # delta prep, dQ, dK/dV
    ref = _packed_ref(*arrs, cu_q, cu_k, causal)
    for got, want in zip((out, lse, *grads), ref):
        assert_close(got.numpy(), want, _dt.f32, wc.device_name, scale=50)


def test_varlen_window_and_alibi_launcher(wc):  # type: ignore[no-untyped-def]
    """The VARLEN kernels with a sliding window and ALiBi slopes (options the trait does not expose yet)."""
    from boostr.ops.wgpu import varlen_attention as wv

    cu_q, cu_k = [0, 1, 20, 20, 26], [0, 4, 30, 31, 31]
    arrs = _packed(cu_q, cu_k, 4, 2, 32, seed=13)
    q, k, v, do = (wc.from_numpy(a) for a in arrs)
    sl = wc.alibi_slopes(4)
    for window, slopes in ((5, None), (0, sl), (7, sl)):
        res = wv.run_varlen_fwd(wc, q, k, v, cu_q, cu_k, True, 1.0 / math.sqrt(32), window, slopes)
        assert res is not None
        grads = wv.run_varlen_bwd(wc, do, q, k, v, *res, cu_q, cu_k, True, 1.0 / math.sqrt(32), window, slopes)
        assert grads is not None
        ref = _packed_ref(*arrs, cu_q, cu_k, True, window, None if slopes is None else sl.numpy())
        for got, want in zip((*res, *grads), ref):
            assert_close(got.numpy(), want, _dt.f32, wc.device_name, scale=50)


@pytest.mark.parametrize("dt", [_dt.f16, _dt.bf16], ids=str)
def test_varlen_low_precision(wc, dt):  # type: ignore[no-untyped-def]
    if dt not in wc.compute_dtypes:
        pytest.skip(f"{dt} not computed here")
    cu_q, cu_k = VARLEN_CASES[1]
    arrs = _packed(cu_q, cu_k, 4, 2, 64, seed=14)
    q, k, v, do = (wc.from_numpy(a, dt) for a in arrs)
    lens = (_lens(cu_q), _lens(cu_k))
    out, lse = wc.varlen_attention_fwd(q, k, v, cu_q, cu_k, *lens, causal=True)
    grads = wc.varlen_attention_bwd(do, q, k, v, out, lse, cu_q, cu_k, *lens, causal=True)
    ref = _packed_ref(*(t.numpy().astype(np.float64) for t in (q, k, v, do)), cu_q, cu_k, True)
    assert out.dtype is dt and all(g.dtype is dt for g in grads)
    assert_close(lse.numpy(), ref[1], _dt.f32, wc.device_name, scale=50)
    for got, want in zip((out, *grads), (ref[0], *ref[2:])):
        assert_close(got.numpy().astype(np.float64), want, dt, wc.device_name, scale=50)


def test_varlen_small_workgroup_storage(wc, monkeypatch):  # type: ignore[no-untyped-def]
    """D=256 on a 16 KiB adapter: the VARLEN kernels read their tiles from global memory."""
    monkeypatch.setitem(wc.limits, "max-compute-workgroup-storage-size", 16384)
    cu_q, cu_k = [0, 1, 1, 18], [0, 3, 5, 40]
    arrs = _packed(cu_q, cu_k, 2, 1, 256, seed=15)
    q, k, v, do = (wc.from_numpy(a) for a in arrs)
    out, lse = wc.varlen_attention_fwd(q, k, v, cu_q, cu_k, 17, 35, causal=True)
    grads = wc.varlen_attention_bwd(do, q, k, v, out, lse, cu_q, cu_k, 17, 35, causal=True)
    for got, want in zip((out, lse, *grads), _packed_ref(*arrs, cu_q, cu_k, True)):
        assert_close(got.numpy(), want, _dt.f32, wc.device_name, scale=50)
