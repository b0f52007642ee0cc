"""Generic RoPE, RoPE frequency tables and ALiBi from primitives.

RoPE rotates pairs of ``x [B, H, S, D]`` by ``theta = pos * inv_freq[k]``:
``(a, b) -> (a cos - b sin, a sin + b cos)``. Split-half pairs are ``(x[k], x[k + D/2])``
(GPT-NeoX / HF ``rotate_half``); interleaved pairs are ``(x[2k], x[2k + 1])`` (GPT-J,
GGUF "normal"). The backward is the rotation by ``-theta`` (``sin`` negated).
Inverse frequencies follow HF transformers' ``_compute_{default,linear,llama3,yarn}_parameters``.
"""

from __future__ import annotations

import math
from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor


def rope_tables(c: Any, cos: Tensor, sin: Tensor, b: int, s: int, position_ids: Tensor | None) -> tuple[Tensor, Tensor]:
    """cos/sin rows for each (batch, position) as ``[B or 1, 1, S, D/2]`` f32 (f64 stays f64)."""
    wdt = _dt.f64 if cos.dtype is _dt.f64 else _dt.f32
    if position_ids is None:
        return c.cast(cos.narrow(0, 0, s), wdt).unsqueeze(0).unsqueeze(0), c.cast(sin.narrow(0, 0, s), wdt).unsqueeze(
            0
        ).unsqueeze(0)
    pos = position_ids.reshape(-1)
    nb = 1 if position_ids.ndim == 1 else b
    half = cos.shape[1]
    ct = c.cast(c.index_select(cos, 0, pos), wdt).reshape(nb, 1, s, half)
    st = c.cast(c.index_select(sin, 0, pos), wdt).reshape(nb, 1, s, half)
    return ct, st


def apply_rope(
    c: Any, x: Tensor, cos: Tensor, sin: Tensor, interleaved: bool, position_ids: Tensor | None, sign: float
) -> Tensor:
    """``x`` rotated by ``sign * theta`` (sign -1 is the backward). Layout as in the module doc."""
    b, h, s, d = x.shape
    half = d // 2
    ct, st = rope_tables(c, cos, sin, b, s, position_ids)
    if sign < 0:
        st = c.neg(st)
    xw = c.cast(x, ct.dtype)
    if interleaved:
        pairs = xw.reshape(b, h, s, half, 2)
        x1, x2 = pairs[..., 0], pairs[..., 1]
    else:
        x1, x2 = xw.narrow(3, 0, half), xw.narrow(3, half, half)
    o1 = c.sub(c.mul(x1, ct), c.mul(x2, st))
    o2 = c.add(c.mul(x1, st), c.mul(x2, ct))
    out = c.stack([o1, o2], -1).reshape(b, h, s, d) if interleaved else c.cat([o1, o2], -1)
    return c.cast(out, x.dtype)


def inv_frequencies(
    head_dim: int, base: float, scaling: dict[str, Any] | None, max_pos: int
) -> tuple[list[float], float]:
    """``(inv_freq [D/2], attention_factor)`` as Python floats; ``scaling`` already validated."""
    dim = head_dim
    inv = [1.0 / base ** (i / dim) for i in range(0, dim, 2)]
    kind = "default" if scaling is None else scaling["rope_type"]
    if kind == "default":
        return inv, 1.0
    factor = float(scaling["factor"])  # type: ignore[index]
    if kind == "linear":
        return [f / factor for f in inv], 1.0
    assert scaling is not None
    old = float(scaling.get("original_max_position_embeddings") or max_pos)
    if kind == "llama3":
        lo, hi = float(scaling.get("low_freq_factor", 1.0)), float(scaling.get("high_freq_factor", 4.0))
        out = []
        for f in inv:
            wavelen = 2 * math.pi / f
            if wavelen < old / hi:
                out.append(f)
            elif wavelen > old / lo:
                out.append(f / factor)
            else:
                smooth = (old / wavelen - lo) / (hi - lo)
                out.append((1 - smooth) * f / factor + smooth * f)
        return out, 1.0

    # yarn
    def mscale(scale: float, m: float = 1.0) -> float:
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    att = scaling.get("attention_factor")
    if att is None:
        ms, ms_all = scaling.get("mscale"), scaling.get("mscale_all_dim")
        att = mscale(factor, ms) / mscale(factor, ms_all) if ms and ms_all else mscale(factor)
    beta_fast, beta_slow = float(scaling.get("beta_fast", 32.0)), float(scaling.get("beta_slow", 1.0))

    def corr_dim(rot: float) -> float:
        return (dim * math.log(old / (rot * 2 * math.pi))) / (2 * math.log(base))

    low, high = corr_dim(beta_fast), corr_dim(beta_slow)
    if scaling.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    out = []
    for i, f in enumerate(inv):
        ramp = min(1.0, max(0.0, (i - low) / (high - low)))
        extra = 1.0 - ramp  # weight of the unscaled (extrapolated) frequency
        out.append(f / factor * (1 - extra) + f * extra)
    return out, float(att)


def rope_frequencies(c: Any, inv: list[float], max_pos: int, dtype: _dt.DType) -> tuple[Tensor, Tensor]:
    """``cos/sin [max_pos, D/2]`` of ``theta[p, k] = p * inv[k]`` (angles in ``dtype``, f32 or f64)."""
    pos = c.arange(0, max_pos, dtype=dtype).reshape(max_pos, 1)
    freqs = c.from_numpy([inv], dtype)  # [1, D/2] constants from the Python-side table
    ang = c.mul(pos, freqs)
    return c.cos(ang), c.sin(ang)


def alibi_slopes(num_heads: int) -> list[float]:
    """ALiBi head slopes (Press et al.): ``2^(-8 i / n)``; non-powers of 2 interleave the next power's."""

    def pow2(n: int) -> list[float]:
        start = 2.0 ** (-(2.0 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(num_heads).is_integer():
        return pow2(num_heads)
    closest = 2 ** math.floor(math.log2(num_heads))
    return pow2(closest) + pow2(2 * closest)[0::2][: num_heads - closest]


def alibi_bias(c: Any, slopes: Tensor, sq: int, sk: int, causal: bool) -> Tensor:
    """``[H, Sq, Sk]`` f32: ``-slope_h * |p_i - j|`` with ``p_i = i + Sk - Sq``; -inf for ``j > p_i`` if causal."""
    qpos = c.arange(sk - sq, sk, dtype=_dt.f32).reshape(1, sq, 1)
    kpos = c.arange(0, sk, dtype=_dt.f32).reshape(1, 1, sk)
    diff = c.sub(qpos, kpos)
    bias = c.mul(c.neg(slopes.reshape(-1, 1, 1)), c.abs(diff))
    if causal:
        bias = c.where(c.lt(diff, 0.0), float("-inf"), bias)
    return bias
