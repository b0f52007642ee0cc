"""A float64 numpy reference forward pass of a LLaMA-family decoder, written for clarity.

``reference_logits(weights, config, ids, freq_factors=None) -> [S, V]``: ``weights`` maps boostr
module names (``layers.0.self_attn.q_proj.weight``, ...; see ``boostr/models/llama.py``) to float
arrays; quantized weights are dequantized first with gguf-py (bit-exact with llama.cpp), see
``gguf_reference_weights``. Every step is the textbook formula: RMSNorm, RoPE from its own
inverse-frequency table (default / linear / llama3 / yarn, following HF transformers, or GGUF's
``rope_freqs`` divisors), attention with an explicit causal (and sliding-window) mask and GQA by
repeating KV heads, SwiGLU, the final norm and the (tied or separate) head.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def inv_frequencies(head_dim: int, base: float, scaling: dict[str, Any] | None, max_pos: int,
                    freq_factors: Any = None) -> tuple[np.ndarray, float]:  # fmt: skip
    """``(inv_freq [D/2] float64, attention factor)`` of a RoPE configuration."""
    inv = 1.0 / base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    if freq_factors is not None:
        return inv / np.asarray(freq_factors, dtype=np.float64), 1.0
    kind = None if scaling is None else scaling.get("rope_type", scaling.get("type"))
    if kind in (None, "default"):
        return inv, 1.0
    assert scaling is not None
    factor = float(scaling["factor"])
    if kind == "linear":
        return inv / factor, 1.0
    old = float(scaling.get("original_max_position_embeddings") or max_pos)
    if kind == "llama3":
        lo, hi = float(scaling.get("low_freq_factor", 1.0)), float(scaling.get("high_freq_factor", 4.0))
        wavelen = 2 * math.pi / inv
        smooth = np.clip((old / wavelen - lo) / (hi - lo), 0.0, 1.0)
        mid = (1 - smooth) * inv / factor + smooth * inv
        return np.where(wavelen < old / hi, inv, np.where(wavelen > old / lo, inv / factor, mid)), 1.0
    if kind != "yarn":
        raise ValueError(f"unknown rope type {kind!r}")

    def mscale(s: float, m: float = 1.0) -> float:
        return 1.0 if s <= 1 else 0.1 * m * math.log(s) + 1.0

    att = scaling.get("attention_factor")
    if att is None:
        ms, ms_all = scaling.get("mscale"), scaling.get("mscale_all_dim")
        att = mscale(factor, ms) / mscale(factor, ms_all) if ms and ms_all else mscale(factor)
    beta_fast, beta_slow = float(scaling.get("beta_fast", 32.0)), float(scaling.get("beta_slow", 1.0))

    def corr_dim(rot: float) -> float:
        return (head_dim * math.log(old / (rot * 2 * math.pi))) / (2 * math.log(base))

    low, high = corr_dim(beta_fast), corr_dim(beta_slow)
    if scaling.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, head_dim - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((np.arange(head_dim // 2, dtype=np.float64) - low) / (high - low), 0.0, 1.0)
    extrapolation = 1.0 - ramp
    return inv / factor * (1 - extrapolation) + inv * extrapolation, float(att)


def rms_norm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x: np.ndarray, positions: np.ndarray, inv: np.ndarray, att: float, interleaved: bool) -> np.ndarray:
    """Rotate ``x [S, H, D]``: pairs ``(x[2k], x[2k+1])`` if interleaved, else ``(x[k], x[k + D/2])``."""
    ang = positions[:, None] * inv[None, :]  # [S, D/2]
    cos, sin = (np.cos(ang) * att)[:, None, :], (np.sin(ang) * att)[:, None, :]
    half = x.shape[-1] // 2
    a, b = (x[..., 0::2], x[..., 1::2]) if interleaved else (x[..., :half], x[..., half:])
    ra, rb = a * cos - b * sin, a * sin + b * cos
    out = np.empty_like(x)
    if interleaved:
        out[..., 0::2], out[..., 1::2] = ra, rb
    else:
        out[..., :half], out[..., half:] = ra, rb
    return out


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, window: int) -> np.ndarray:
    """Causal softmax attention, ``q [S, H, D]``, ``k/v [S, H_kv, D]`` (GQA: KV heads repeated)."""
    s, h, d = q.shape
    rep = h // k.shape[1]
    k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
    scores = np.einsum("ihd,jhd->hij", q, k) / math.sqrt(d)
    i, j = np.arange(s)[:, None], np.arange(s)[None, :]
    visible = j <= i
    if window:
        visible &= i - j < window
    scores = np.where(visible[None], scores, -np.inf)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.einsum("hij,jhd->ihd", p, v)


def reference_logits(weights: dict[str, np.ndarray], config: Any, ids: list[int],
                     freq_factors: Any = None) -> np.ndarray:  # fmt: skip
    """Logits ``[S, V]`` float64 for token ``ids`` (see the module doc); ``config`` is a LlamaConfig."""
    c = config
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    s = len(ids)
    positions = np.arange(s, dtype=np.float64)
    inv, att = inv_frequencies(c.head_dim, c.rope_theta, c.rope_scaling, c.max_position_embeddings, freq_factors)
    x = w["embed_tokens.weight"][np.asarray(ids)]
    for layer in range(c.num_layers):
        p = f"layers.{layer}."

        def proj(name: str, inp: np.ndarray, prefix: str = p) -> np.ndarray:
            y = inp @ w[prefix + name + ".weight"].T
            return y + w[prefix + name + ".bias"] if prefix + name + ".bias" in w else y

        h = rms_norm(x, w[p + "input_layernorm.weight"], c.rms_norm_eps)
        q = proj("self_attn.q_proj", h).reshape(s, c.num_heads, c.head_dim)
        k = proj("self_attn.k_proj", h).reshape(s, c.num_kv_heads, c.head_dim)
        v = proj("self_attn.v_proj", h).reshape(s, c.num_kv_heads, c.head_dim)
        q = rope(q, positions, inv, att, c.rope_interleaved)
        k = rope(k, positions, inv, att, c.rope_interleaved)
        a = attention(q, k, v, c.sliding_window).reshape(s, c.num_heads * c.head_dim)
        x = x + proj("self_attn.o_proj", a)
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], c.rms_norm_eps)
        gate, up = proj("mlp.gate_proj", h), proj("mlp.up_proj", h)
        x = x + proj("mlp.down_proj", gate / (1.0 + np.exp(-gate)) * up)
    x = rms_norm(x, w["norm.weight"], c.rms_norm_eps)
    head = w.get("lm_head.weight", w["embed_tokens.weight"])
    return x @ head.T  # type: ignore[no-any-return]


def gguf_reference_weights(path: str, num_layers: int | None = None) -> tuple[dict[str, np.ndarray], Any, Any]:
    """``(weights float32 by module name, LlamaConfig, freq_factors or None)`` of a GGUF file, every
    quantized tensor dequantized with gguf-py; ``num_layers`` keeps only the first layers."""
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize

    from ..formats.gguf import gguf_to_module, open_gguf
    from ..models.config import LlamaConfig
    from ..quant.formats import FORMATS

    f = open_gguf(path)
    cfg = LlamaConfig.from_gguf(f.metadata)
    if num_layers is not None:
        cfg.num_layers = num_layers
    weights = {}
    for name in f.names:
        mod = gguf_to_module(name)
        if mod is None or (mod.startswith("layers.") and int(mod.split(".")[1]) >= cfg.num_layers):
            continue
        kind, host = f.type_name(name), f.host_array(name)
        arr = dequantize(host, GGMLQuantizationType[kind]) if kind in FORMATS else np.asarray(host, np.float32)
        weights[mod] = arr.reshape(f.shape(name))
    freq = f.host_array("rope_freqs.weight") if "rope_freqs.weight" in f else None
    return weights, cfg, freq


__all__ = ["attention", "gguf_reference_weights", "inv_frequencies", "reference_logits", "rms_norm", "rope"]
