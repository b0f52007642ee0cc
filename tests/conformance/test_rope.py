"""RoPE forward/backward, RoPE frequency tables (none/linear/llama3/yarn) and ALiBi vs float64 references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boostr import dtype as _dt
from boostr.errors import InvalidArgument
from boostr.ops.generic import rope as gen
from boostr.testing.attention_refs import alibi_bias_ref, alibi_slopes_ref, rope_ref
from boostr.testing.tolerances import assert_close


def _tables(smax: int, d: int, base: float = 10000.0) -> tuple[np.ndarray, np.ndarray]:
    inv = base ** (-np.arange(0, d, 2) / d)
    ang = np.arange(smax)[:, None] * inv[None, :]
    return np.cos(ang), np.sin(ang)


@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("pos_kind", ["none", "shared", "per_batch"])
def test_apply_rope(client, interleaved, pos_kind):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    b, h, s, d, smax = 2, 3, 5, 32, 11
    x = rng.standard_normal((b, h, s, d)).astype(np.float32)
    cos, sin = _tables(smax, d)
    pos = {"none": None, "shared": rng.integers(0, smax, s), "per_batch": rng.integers(0, smax, (b, s))}[pos_kind]
    tc, ts = client.from_numpy(cos, _dt.f32), client.from_numpy(sin, _dt.f32)
    tp = None if pos is None else client.from_numpy(pos)
    out = client.apply_rope(client.from_numpy(x), tc, ts, interleaved=interleaved, position_ids=tp)
    ref = rope_ref(x, cos.astype(np.float32), sin.astype(np.float32), interleaved, pos)
    assert out.shape == x.shape and out.dtype is _dt.f32
    assert_close(out.numpy(), ref, _dt.f32, client.device_name, scale=4)
    gen_out = gen.apply_rope(client, client.from_numpy(x), tc, ts, interleaved, tp, 1.0)
    assert_close(out.numpy(), gen_out.numpy(), _dt.f32, client.device_name, scale=4)


@pytest.mark.parametrize("interleaved", [False, True])
def test_rope_backward_is_the_adjoint(client, interleaved):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 7, 64)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    cos, sin = (client.from_numpy(t, _dt.f32) for t in _tables(9, 64))
    pos = client.from_numpy(rng.integers(0, 9, 7))
    y = client.apply_rope(client.from_numpy(x), cos, sin, interleaved=interleaved, position_ids=pos)
    gx = client.apply_rope_backward(client.from_numpy(g), cos, sin, interleaved=interleaved, position_ids=pos)
    # <rope(x), g> == <x, rope_backward(g)>: the backward is the transpose of the (linear) forward
    lhs = float(np.sum(y.numpy().astype(np.float64) * g))
    rhs = float(np.sum(x.astype(np.float64) * gx.numpy()))
    assert abs(lhs - rhs) <= 1e-4 * max(1.0, abs(lhs))
    back = client.apply_rope_backward(y, cos, sin, interleaved=interleaved, position_ids=pos)
    assert_close(back.numpy(), x, _dt.f32, client.device_name, scale=10)


def test_apply_rope_half(client):  # type: ignore[no-untyped-def]
    if _dt.f16 not in client.compute_dtypes:
        pytest.skip("no f16 here")
    x = np.random.default_rng(2).standard_normal((1, 2, 4, 32)).astype(np.float16)
    cos, sin = _tables(4, 32)
    out = client.apply_rope(client.from_numpy(x), client.from_numpy(cos, _dt.f32), client.from_numpy(sin, _dt.f32))
    assert out.dtype is _dt.f16
    assert_close(out.numpy(), rope_ref(x, cos, sin), _dt.f16, client.device_name, scale=2)


def _hf_llama3(inv: np.ndarray, factor: float, lo: float, hi: float, old: int) -> np.ndarray:
    wavelen = 2 * math.pi / inv
    out = np.where(wavelen > old / lo, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * out / factor + smooth * out
    medium = ~(wavelen < old / hi) & ~(wavelen > old / lo)
    return np.where(medium, smoothed, out)


def _hf_yarn(d: int, base: float, factor: float, old: int) -> tuple[np.ndarray, float]:
    pos_freqs = base ** (np.arange(0, d, 2) / d)
    extra, inter = 1.0 / pos_freqs, 1.0 / (factor * pos_freqs)

    def cdim(rot: float) -> float:
        return (d * math.log(old / (rot * 2 * math.pi))) / (2 * math.log(base))

    low, high = max(math.floor(cdim(32)), 0), min(math.ceil(cdim(1)), d - 1)
    ramp = np.clip((np.arange(d // 2) - low) / (high - low), 0, 1)
    ef = 1 - ramp
    return inter * (1 - ef) + extra * ef, 0.1 * math.log(factor) + 1.0


@pytest.mark.parametrize("kind", ["none", "linear", "llama3", "yarn"])
def test_rope_frequencies(client, kind):  # type: ignore[no-untyped-def]
    d, smax, base = 64, 40, 500000.0
    inv = base ** (-np.arange(0, d, 2) / d)
    att_want = 1.0
    scaling = None
    if kind == "linear":
        scaling, inv = {"type": "linear", "factor": 4.0}, inv / 4.0
    elif kind == "llama3":
        scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192}  # fmt: skip
        inv = _hf_llama3(inv, 8.0, 1.0, 4.0, 8192)
    elif kind == "yarn":
        scaling = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 4096}
        inv, att_want = _hf_yarn(d, base, 4.0, 4096)
    cos, sin, att = client.rope_frequencies(d, smax, base, scaling)
    ang = np.arange(smax)[:, None] * inv[None, :]
    assert cos.shape == (smax, d // 2) and cos.dtype is _dt.f32
    assert abs(att - att_want) < 1e-12
    assert_close(cos.numpy(), np.cos(ang), _dt.f32, client.device_name, scale=10)
    assert_close(sin.numpy(), np.sin(ang), _dt.f32, client.device_name, scale=10)


def test_rope_bad_inputs(client):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgument, match=r"scaling.*unknown rope type 'dynamic'"):
        client.rope_frequencies(64, 8, scaling={"type": "dynamic", "factor": 2.0})
    with pytest.raises(InvalidArgument, match=r"scaling.*factor"):
        client.rope_frequencies(64, 8, scaling={"type": "linear"})
    with pytest.raises(InvalidArgument, match="head_dim"):
        client.rope_frequencies(63, 8)
    cos, sin, _ = client.rope_frequencies(32, 4)
    x = client.zeros(1, 1, 6, 32)
    with pytest.raises(InvalidArgument, match="'cos'"):
        client.apply_rope(x, cos, sin)
    with pytest.raises(InvalidArgument, match="'x'"):
        client.apply_rope(client.zeros(1, 1, 2, 31), cos, sin)
    with pytest.raises(InvalidArgument, match="position_ids"):
        client.apply_rope(x, cos, sin, position_ids=client.from_numpy(np.zeros((2, 6), np.int64)))
    if client.kind == "cpu":
        with pytest.raises(InvalidArgument, match="position_ids"):
            client.apply_rope(x, cos, sin, position_ids=client.from_numpy(np.arange(6)))


@pytest.mark.parametrize("heads", [8, 12])
@pytest.mark.parametrize("causal", [False, True])
def test_alibi(client, heads, causal):  # type: ignore[no-untyped-def]
    assert_close(client.alibi_slopes(heads).numpy(), alibi_slopes_ref(heads), _dt.f32, client.device_name)
    bias = client.alibi_bias(heads, 3, 7, causal)
    assert bias.shape == (heads, 3, 7) and bias.dtype is _dt.f32
    assert_close(bias.numpy(), alibi_bias_ref(heads, 3, 7, causal), _dt.f32, client.device_name)
