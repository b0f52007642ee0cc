"""Fused RoPE + paged KV-cache write (``rope_reshape_and_cache``) vs a float64 reference and the generic
composite: every backend, qkv/cache dtype pair, both rope layouts, GQA, prefill (S > 1) and decode,
shuffled and skipped slots, strided qkv, the index policies and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from boostr import dtype as _dt
from boostr.errors import InvalidArgument, UnsupportedDType
from boostr.ops.generic import rope_cache as gen
from boostr.testing.tolerances import assert_close, assert_equal

DTYPES = [_dt.f64, _dt.f32, _dt.f16, _dt.bf16]


def _tables(smax: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    inv = 10000.0 ** (-np.arange(0, d, 2) / d)
    ang = np.arange(smax)[:, None] * inv[None, :]
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def reference(qkv, cos, sin, pos, kb, vb, slots, h, hkv, interleaved):  # type: ignore[no-untyped-def]
    """float64: rope by the formula on the q and k heads, explicit scatter of k and v into the blocks.
    Returns ``(q [B, H, S, D], k_blocks, v_blocks)`` (copies of the blocks, updated)."""
    x = np.asarray(qkv, np.float64)
    b, s, w = x.shape
    d = w // (h + 2 * hkv)
    half = d // 2
    pos = np.broadcast_to(np.asarray(pos).reshape(-1, s), (b, s))
    heads = x.reshape(b, s, h + 2 * hkv, d)
    rot = heads[:, :, : h + hkv].copy()
    for bi in range(b):
        for si in range(s):
            c, sn = np.float64(cos[pos[bi, si]]), np.float64(sin[pos[bi, si]])
            for k in range(half):
                i0, i1 = (2 * k, 2 * k + 1) if interleaved else (k, k + half)
                a, bb = heads[bi, si, : h + hkv, i0], heads[bi, si, : h + hkv, i1]
                rot[bi, si, :, i0] = a * c[k] - bb * sn[k]
                rot[bi, si, :, i1] = a * sn[k] + bb * c[k]
    kb, vb = np.asarray(kb, np.float64).copy(), np.asarray(vb, np.float64).copy()
    kf, vf = kb.reshape(-1, hkv, d), vb.reshape(-1, hkv, d)
    for t, slot in enumerate(slots):
        if slot >= 0:
            kf[slot] = rot[t // s, t % s, h:]
            vf[slot] = heads[t // s, t % s, h + hkv :]
    return rot[:, :, :h].transpose(0, 2, 1, 3), kb, vb


def _case(client, src, cache, b, s, h, hkv, d, n, bs, pos_shared=False, seed=0):  # type: ignore[no-untyped-def]
    """Inputs as stored (numpy, already rounded to their dtypes) and the matching client tensors."""
    rng = np.random.default_rng(seed)
    smax = 3 * s + 5
    qkv = rng.standard_normal((b, s, (h + 2 * hkv) * d)).astype(src.np_dtype)
    cos, sin = _tables(smax, d)
    pos = rng.integers(0, smax, s if pos_shared else (b, s))
    slots = rng.permutation(n * bs)[: b * s]
    slots[rng.integers(0, b * s)] = -1  # one skipped token
    kb = rng.standard_normal((n, bs, hkv, d)).astype(cache.np_dtype)  # untouched rows must stay
    vb = rng.standard_normal((n, bs, hkv, d)).astype(cache.np_dtype)
    host = (qkv, cos, sin, pos, kb, vb, slots)
    dev = (client.from_numpy(qkv, src), client.from_numpy(cos, _dt.f32), client.from_numpy(sin, _dt.f32),
           client.from_numpy(pos), client.from_numpy(kb, cache), client.from_numpy(vb, cache),
           client.from_numpy(slots))  # fmt: skip
    return host, dev


def _need(client, *dts):  # type: ignore[no-untyped-def]
    for dt in dts:
        if dt not in client.compute_dtypes:
            pytest.skip(f"{dt} is not computed on {client.device_name}")


def _check(client, host, out, kb, vb, h, hkv, interleaved, cache):  # type: ignore[no-untyped-def]
    qr, kr, vr = reference(*host, h, hkv, interleaved)
    assert out.dtype is cache and out.shape == qr.shape and out.is_contiguous()
    assert_close(out.numpy(), qr, cache, client.device_name, scale=4)
    assert_close(kb.numpy(), kr, cache, client.device_name, scale=4)
    # v is copied: exactly the source rounded once to the cache dtype; untouched rows keep their bits
    want = vr if cache is _dt.f64 else vr.astype(np.float32).astype(cache.np_dtype)
    assert_equal(vb.numpy(), want, "v_blocks")


@pytest.mark.parametrize("interleaved", [False, True], ids=["split", "interleaved"])
@pytest.mark.parametrize("cache", DTYPES, ids=str)
@pytest.mark.parametrize("src", DTYPES, ids=str)
def test_rope_cache_prefill_gqa(client, src, cache, interleaved):  # type: ignore[no-untyped-def]
    _need(client, src, cache)
    h, hkv, d = 4, 2, 32
    host, dev = _case(client, src, cache, b=2, s=5, h=h, hkv=hkv, d=d, n=6, bs=4)
    qkv, cos, sin, pos, kb, vb, slots = dev
    with client.count_transfers() as t:
        out = client.rope_reshape_and_cache(qkv, cos, sin, pos, kb, vb, slots, num_heads=h, num_kv_heads=hkv,
                                            interleaved=interleaved)  # fmt: skip
    assert t.total == 0
    _check(client, host, out, kb, vb, h, hkv, interleaved, cache)
    # the generic composite (the definition) agrees
    kb2, vb2 = client.from_numpy(host[4], cache), client.from_numpy(host[5], cache)
    q2 = gen.rope_reshape_and_cache(client, qkv, cos, sin, client._index_tensor("p", pos), kb2, vb2,
                                    client._index_tensor("s", slots), h, hkv, interleaved)  # fmt: skip
    assert_close(out.numpy(), q2.numpy().astype(np.float64), cache, client.device_name, scale=4)
    assert_close(kb.numpy(), kb2.numpy().astype(np.float64), cache, client.device_name, scale=4)
    assert_equal(vb.numpy(), vb2.numpy(), "v_blocks vs generic")


@pytest.mark.parametrize("cache", [_dt.f32, _dt.f16, _dt.bf16], ids=str)
@pytest.mark.parametrize("interleaved", [False, True], ids=["split", "interleaved"])
def test_rope_cache_decode_llama_shape(client, cache, interleaved):  # type: ignore[no-untyped-def]
    """One token, 32 q heads over 8 KV heads of 128, shared positions ``[S]``, the cache dtype of generate."""
    _need(client, cache)
    h, hkv, d = 32, 8, 128
    host, dev = _case(client, _dt.f32, cache, b=1, s=1, h=h, hkv=hkv, d=d, n=4, bs=16, pos_shared=True, seed=3)
    host = (*host[:6], np.array([37]))  # this token is not skipped
    qkv, cos, sin, pos, kb, vb, _ = dev
    out = client.rope_reshape_and_cache(qkv, cos, sin, pos, kb, vb, client.from_numpy(host[6]), num_heads=h,
                                        num_kv_heads=hkv, interleaved=interleaved)  # fmt: skip
    _check(client, host, out, kb, vb, h, hkv, interleaved, cache)


def test_rope_cache_strided_qkv(client):  # type: ignore[no-untyped-def]
    """qkv as a view: the first columns of a wider, row-padded projection output."""
    h, hkv, d, b, s = 2, 1, 16, 2, 3
    host, dev = _case(client, _dt.f32, _dt.f32, b=b, s=s, h=h, hkv=hkv, d=d, n=3, bs=4, seed=5)
    wide = np.zeros((b, s, (h + 2 * hkv) * d + 8), np.float32)
    wide[:, :, : (h + 2 * hkv) * d] = host[0]
    view = client.from_numpy(wide).narrow(2, 0, (h + 2 * hkv) * d)
    assert not view.is_contiguous()
    _, cos, sin, pos, kb, vb, slots = dev
    out = client.rope_reshape_and_cache(view, cos, sin, pos, kb, vb, slots, num_heads=h, num_kv_heads=hkv)
    _check(client, host, out, kb, vb, h, hkv, False, _dt.f32)


def test_rope_cache_index_policy(client):  # type: ignore[no-untyped-def]
    """The CPU refuses out-of-range slots and positions; GPU backends clamp them (never out of bounds)."""
    h, hkv, d, n, bs = 2, 1, 16, 2, 2
    host, dev = _case(client, _dt.f32, _dt.f32, b=1, s=2, h=h, hkv=hkv, d=d, n=n, bs=bs, seed=7)
    qkv, cos, sin, _, kb, vb, _ = dev
    smax = host[1].shape[0]
    bad_slots, bad_pos = np.array([n * bs + 5, 0]), np.array([[smax + 3, -2]])
    args = (client.from_numpy(bad_pos), kb, vb, client.from_numpy(bad_slots))
    if client.kind == "cpu":
        with pytest.raises(InvalidArgument, match="slot_mapping"):
            client.rope_reshape_and_cache(qkv, cos, sin, *args, num_heads=h, num_kv_heads=hkv)
        good = client.from_numpy(np.array([1, 0]))
        with pytest.raises(InvalidArgument, match="positions"):
            client.rope_reshape_and_cache(qkv, cos, sin, args[0], kb, vb, good, num_heads=h, num_kv_heads=hkv)
        return
    out = client.rope_reshape_and_cache(qkv, cos, sin, *args, num_heads=h, num_kv_heads=hkv)
    clamped = (*host[:3], np.array([[smax - 1, 0]]), host[4], host[5], np.array([n * bs - 1, 0]))
    _check(client, clamped, out, kb, vb, h, hkv, False, _dt.f32)


def test_rope_cache_bad_input(client):  # type: ignore[no-untyped-def]
    h, hkv, d = 4, 2, 16
    _, dev = _case(client, _dt.f32, _dt.f32, b=1, s=2, h=h, hkv=hkv, d=d, n=2, bs=4)
    qkv, cos, sin, pos, kb, vb, slots = dev

    def call(**kw):  # type: ignore[no-untyped-def]
        a = dict(qkv=qkv, cos=cos, sin=sin, positions=pos, k_blocks=kb, v_blocks=vb, slot_mapping=slots,
                 num_heads=h, num_kv_heads=hkv)  # fmt: skip
        a.update(kw)
        return client.rope_reshape_and_cache(**a)

    with pytest.raises(InvalidArgument, match="num_kv_heads"):
        call(num_kv_heads=3)
    with pytest.raises(InvalidArgument, match="num_heads"):
        call(num_heads=0)
    with pytest.raises(InvalidArgument, match="qkv"):
        call(qkv=qkv.narrow(2, 0, (h + 2 * hkv) * d - 2))
    with pytest.raises(InvalidArgument, match="qkv"):
        call(qkv=client.zeros(1, 2, (h + 2 * hkv) * d, dtype=_dt.i32))
    with pytest.raises(InvalidArgument, match="k_blocks"):
        call(k_blocks=client.zeros(2, 4, 3, d), v_blocks=client.zeros(2, 4, 3, d))  # H_kv mismatch
    with pytest.raises(InvalidArgument, match="k_blocks"):
        call(k_blocks=kb.transpose(0, 1))  # not contiguous
    with pytest.raises(InvalidArgument, match="v_blocks"):
        call(v_blocks=client.zeros(2, 4, hkv, d, dtype=_dt.bf16))
    with pytest.raises(InvalidArgument, match="cos"):
        call(cos=cos.narrow(1, 0, d // 4))
    with pytest.raises(InvalidArgument, match="sin"):
        call(sin=sin.narrow(0, 0, 3))
    with pytest.raises(InvalidArgument, match="positions"):
        call(positions=client.from_numpy(np.zeros((1, 3), np.int64)))
    with pytest.raises(InvalidArgument, match="slot_mapping"):
        call(slot_mapping=client.from_numpy(np.zeros(3, np.int64)))
    with pytest.raises(InvalidArgument, match="positions"):
        call(positions=client.from_numpy(np.zeros(2, np.float32)))
    fp8 = client.zeros(2, 4, hkv, d, dtype=_dt.fp8_e4m3)
    with pytest.raises(UnsupportedDType):  # q comes back in the cache dtype: fp8 is storage-only
        call(k_blocks=fp8, v_blocks=client.zeros(2, 4, hkv, d, dtype=_dt.fp8_e4m3))


def test_rope_cache_wgpu_few_bindings(client, monkeypatch):  # type: ignore[no-untyped-def]
    """An adapter with fewer than 9 storage buffers per stage takes the generic composite."""
    if client.kind != "wgpu":
        pytest.skip("a wgpu adapter limit")
    monkeypatch.setitem(client.limits, "max-storage-buffers-per-shader-stage", 8)
    h, hkv = 4, 2
    host, dev = _case(client, _dt.f32, _dt.f32, b=2, s=3, h=h, hkv=hkv, d=32, n=4, bs=4, seed=9)
    qkv, cos, sin, pos, kb, vb, slots = dev
    out = client.rope_reshape_and_cache(qkv, cos, sin, pos, kb, vb, slots, num_heads=h, num_kv_heads=hkv)
    _check(client, host, out, kb, vb, h, hkv, False, _dt.f32)
