"""fused_decoder_layer on every backend vs a float64 numpy decoder layer (quantized and float weights,
GQA/MQA, split-half and interleaved RoPE, sliding window, first layer without a residual), the
cache writes, the CPU fused kernel against the generic composite, and argument validation."""

from __future__ import annotations

import numpy as np
import pytest
from test_quant_data import random_blocks, reference_dequant

from boostr.errors import InvalidArgument
from boostr.ops.generic import decode_layer as _gen
from boostr.quant import QuantTensor
from boostr.testing.attention_refs import attention_ref, rope_ref
from boostr.testing.refs import silu

# name -> (formats of qkv, o, gate/up, down or None for f32 weights; E, F, H, H_kv, D)
MODELS = {
    "q4_1-gqa": (("Q4_1", "Q4_1", "Q4_1", "Q4_1"), 64, 96, 4, 2, 32),
    "mixed-mqa": (("Q8_0", "Q4_0", "Q5_1", "Q8_0"), 64, 128, 2, 1, 32),
    "kquants": (("Q4_K", "Q6_K", "Q4_K", "Q6_K"), 256, 256, 8, 2, 32),
    "f32-mha": (None, 64, 96, 2, 2, 32),
}
# (model, B, S, pos, S_max, interleaved, window, first layer)
CASES = [
    ("q4_1-gqa", 1, 1, 0, 8, True, 0, True),
    ("q4_1-gqa", 1, 1, 5, 8, True, 0, False),
    ("q4_1-gqa", 1, 1, 6, 9, False, 3, False),
    ("mixed-mqa", 1, 1, 4, 6, False, 0, False),
    ("kquants", 1, 1, 3, 5, True, 2, False),
    ("f32-mha", 1, 1, 2, 4, False, 0, False),
    ("q4_1-gqa", 2, 3, 2, 8, True, 0, False),
    ("f32-mha", 2, 2, 0, 3, True, 0, True),
]
EPS = 1e-5


def _weight(client, fmt, n, k, seed):  # type: ignore[no-untyped-def]
    """(the weight for the op, its float64 value)."""
    if fmt is None:
        w = np.random.default_rng(seed).standard_normal((n, k)).astype(np.float32)
        return client.from_numpy(w), w.astype(np.float64)
    raw = random_blocks(fmt, n, k, seed=seed)
    return QuantTensor.from_raw(raw, fmt, (n, k), backend=client), reference_dequant(fmt, raw).astype(np.float64)


def _setup(client, model, b, s, pos, smax, first):  # type: ignore[no-untyped-def]
    fmts, e, f, h, hkv, d = MODELS[model]
    fm = fmts or (None,) * 4
    rng = np.random.default_rng(b * 100 + s * 10 + pos)
    shapes = [((h + 2 * hkv) * d, e, fm[0]), (e, h * d, fm[1]), (f, e, fm[2]), (f, e, fm[2]), (e, f, fm[3])]
    ws = [_weight(client, fmt, n, k, seed) for seed, (n, k, fmt) in enumerate(shapes)]
    x = rng.standard_normal((b, s, e)).astype(np.float32)
    r = None if first else rng.standard_normal((b, s, e)).astype(np.float32)
    ln1, ln2 = (rng.uniform(0.02, 0.1, e).astype(np.float32) for _ in range(2))
    kc = rng.standard_normal((b, hkv, smax, d)).astype(np.float32)
    vc = rng.standard_normal((b, hkv, smax, d)).astype(np.float32)
    ang = np.arange(pos, pos + s)[:, None] * (1e4 ** (-np.arange(d // 2) * 2 / d))[None, :]
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    return ws, x, r, ln1, ln2, kc, vc, cos, sin, (h, hkv)


def _rms(x, w):  # type: ignore[no-untyped-def]
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS) * w


def decoder_layer_ref(x, r, ln1, ws, ln2, kc, vc, pos, cos, sin, h, hkv, interleaved, window):  # type: ignore[no-untyped-def]
    """float64 layer: returns (out, r2, k_cache, v_cache)."""
    wqkv, wo, wg, wu, wd = ws
    b, s, _ = x.shape
    d = kc.shape[3]
    r1 = x.astype(np.float64) + (0.0 if r is None else r)
    y = (_rms(r1, ln1) @ wqkv.T).reshape(b, s, h + 2 * hkv, d).transpose(0, 2, 1, 3)
    q = rope_ref(y[:, :h], cos, sin, interleaved)
    kc, vc = kc.astype(np.float64), vc.astype(np.float64)
    kc[:, :, pos : pos + s] = rope_ref(y[:, h : h + hkv], cos, sin, interleaved)
    vc[:, :, pos : pos + s] = y[:, h + hkv :]
    att, _ = attention_ref(q, kc, vc, causal=True, window=window, kv_seq_len=pos + s)
    r2 = att.transpose(0, 2, 1, 3).reshape(b, s, h * d) @ wo.T + r1
    h2 = _rms(r2, ln2)
    return (silu(h2 @ wg.T) * (h2 @ wu.T)) @ wd.T, r2, kc, vc


def _nmse(got, ref):  # type: ignore[no-untyped-def]
    return float(np.sum((got - ref) ** 2) / max(np.sum(ref**2), 1e-30))


def _run(client, fn, ws, x, r, ln1, ln2, kc, vc, pos, cos, sin, heads, interleaved, window):  # type: ignore[no-untyped-def]
    t = client.from_numpy
    kct, vct = t(kc), t(vc)
    out, r2 = fn(
        t(x), None if r is None else t(r), t(ln1), ws[0][0], ws[1][0], t(ln2), ws[2][0], ws[3][0], ws[4][0], kct,
        vct, pos, t(cos), t(sin), heads[0], heads[1], EPS, interleaved, window,
    )  # fmt: skip
    return out.numpy(), r2.numpy(), kct.numpy(), vct.numpy()


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_decoder_layer_vs_float64(client, case):  # type: ignore[no-untyped-def]
    model, b, s, pos, smax, interleaved, window, first = case
    ws, x, r, ln1, ln2, kc, vc, cos, sin, heads = _setup(client, model, b, s, pos, smax, first)
    got = _run(client, client.fused_decoder_layer, ws, x, r, ln1, ln2, kc, vc, pos, cos, sin, heads, interleaved,
               window)  # fmt: skip
    ref = decoder_layer_ref(x, r, ln1, [w[1] for w in ws], ln2, kc, vc, pos, cos, sin, *heads, interleaved, window)
    for name, g, want in zip(("out", "residual", "k_cache", "v_cache"), got, ref, strict=True):
        assert g.shape == want.shape and g.dtype == np.float32, name
        assert _nmse(g, want) < 1e-9, f"{name}: NMSE {_nmse(g, want):.3g}"
    untouched = np.ones(smax, bool)
    untouched[pos : pos + s] = False
    np.testing.assert_array_equal(got[2][:, :, untouched], kc[:, :, untouched])
    np.testing.assert_array_equal(got[3][:, :, untouched], vc[:, :, untouched])


@pytest.mark.parametrize("case", [c for c in CASES if c[1] == c[2] == 1], ids=lambda c: "-".join(map(str, c)))
def test_backend_matches_generic_composite(client, case):  # type: ignore[no-untyped-def]
    """The backend's layer (the CPU's fused kernel) equals the generic composite on the same client."""
    model, b, s, pos, smax, interleaved, window, first = case
    ws, x, r, ln1, ln2, kc, vc, cos, sin, heads = _setup(client, model, b, s, pos, smax, first)
    got = _run(client, client.fused_decoder_layer, ws, x, r, ln1, ln2, kc, vc, pos, cos, sin, heads, interleaved,
               window)  # fmt: skip

    def generic(*a):  # type: ignore[no-untyped-def]
        return _gen.decoder_layer(client, *a)

    want = _run(client, generic, ws, x, r, ln1, ln2, kc, vc, pos, cos, sin, heads, interleaved, window)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5 * max(1.0, float(np.abs(w).max())))


def test_decoder_layer_rejects_bad_arguments(client):  # type: ignore[no-untyped-def]
    ws, x, r, ln1, ln2, kc, vc, cos, sin, heads = _setup(client, "q4_1-gqa", 1, 1, 3, 4, False)
    t = client.from_numpy

    def call(**kw):  # type: ignore[no-untyped-def]
        a = dict(x=t(x), residual=t(r), ln1=t(ln1), w_qkv=ws[0][0], w_o=ws[1][0], ln2=t(ln2), w_gate=ws[2][0],
                 w_up=ws[3][0], w_down=ws[4][0], k_cache=t(kc), v_cache=t(vc), pos=3, cos=t(cos), sin=t(sin),
                 num_heads=heads[0], num_kv_heads=heads[1], eps=EPS)  # fmt: skip
        a.update(kw)
        return client.fused_decoder_layer(**a)

    call()
    bad = {
        "pos": 4, "num_kv_heads": 3, "w_o": ws[0][0], "w_down": ws[2][0], "cos": t(cos[:, :4]),
        "residual": t(r[:, :, :32]), "k_cache": t(kc[:, :1]), "x": t(x[0]), "window": -1, "ln2": t(ln2[:8]),
    }  # fmt: skip
    for arg, value in bad.items():
        with pytest.raises(InvalidArgument):
            call(**{arg: value})


def test_cpu_decode_runs_the_fused_kernel(monkeypatch):  # type: ignore[no-untyped-def]
    """B = S = 1 with fused-format weights takes the CPU kernel, not the composite."""
    import boostr
    from boostr.ops.cpu import decode_layer as cpu_dl

    client = boostr.get_client("cpu")

    def no_composite(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("the generic composite ran")

    monkeypatch.setattr(cpu_dl._gen, "decoder_layer", no_composite)
    for case in [c for c in CASES if c[1] == c[2] == 1 and MODELS[c[0]][0] is not None]:
        model, b, s, pos, smax, interleaved, window, first = case
        ws, x, r, ln1, ln2, kc, vc, cos, sin, heads = _setup(client, model, b, s, pos, smax, first)
        _run(client, client.fused_decoder_layer, ws, x, r, ln1, ln2, kc, vc, pos, cos, sin, heads, interleaved,
             window)  # fmt: skip


def test_cpu_mixed_weight_kinds_take_the_composite():  # type: ignore[no-untyped-def]
    """A float weight among quantized ones (and gate/up of different formats) runs the composite, twice
    (the second call goes through the cached plan) with the same result."""
    import boostr

    client = boostr.get_client("cpu")
    ws, x, r, ln1, ln2, kc, vc, cos, sin, heads = _setup(client, "q4_1-gqa", 1, 1, 3, 6, False)
    ref_ws = [w[1] for w in ws]
    for swap in (4, 3):
        mixed = list(ws)
        if swap == 4:
            mixed[4] = (client.from_numpy(ref_ws[4].astype(np.float32)), ref_ws[4])
        else:
            mixed[3] = _weight(client, "Q8_0", *ref_ws[3].shape, seed=9)
        want = decoder_layer_ref(x, r, ln1, [w[1] for w in mixed], ln2, kc, vc, 3, cos, sin, *heads, True, 0)
        for _ in range(2):
            got = _run(client, client.fused_decoder_layer, mixed, x, r, ln1, ln2, kc, vc, 3, cos, sin, heads, True, 0)
            assert _nmse(got[0], want[0]) < 1e-9 and _nmse(got[1], want[1]) < 1e-9
