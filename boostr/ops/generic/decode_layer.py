"""Generic fused decoder layer: the composite of the primitive and extension ops (the definition).

``r = x + residual``; ``h = rms_norm(r) * ln1``; ``y = h @ w_qkv^T`` viewed ``[B, S, H + 2 H_kv, D]``
with heads moved to dim 1; q (heads ``0..H-1``) and k (next ``H_kv``) rotated by one
``apply_rope`` call (they are adjacent heads), v the last ``H_kv``; ``kv_cache_update`` at ``pos``;
``flash_attention_fwd`` causal (windowed) over ``kv_seq_len = pos + S`` cache positions;
``r2 = a @ w_o^T + r``; ``h2 = rms_norm(r2) * ln2``; ``out = swiglu(h2) @ w_down^T``.
Quantized weights run ``quant_matmul`` / ``quant_swiglu``, float ones ``matmul``.
Layout: see ``DecodeLayerOps.fused_decoder_layer``.
"""

from __future__ import annotations

from typing import Any

from ...quant.quant_tensor import QuantTensor
from ...tensor import Tensor


def _linear(c: Any, x: Tensor, w: Any) -> Tensor:
    """``x @ w^T`` for a float or quantized ``w [N, K]`` (in x's dtype)."""
    if isinstance(w, QuantTensor):
        y = c.quant_matmul(x, w)
        return y if y.dtype is x.dtype else c.cast(y, x.dtype)
    return c.matmul(x, (w if w.dtype is x.dtype else c.cast(w, x.dtype)).transpose(0, 1))


def _norm_w(c: Any, w: Tensor, x: Tensor) -> Tensor:
    return w if w.dtype is x.dtype else c.cast(w, x.dtype)


def decoder_layer(
    c: Any, x: Tensor, residual: Tensor | None, ln1: Tensor, w_qkv: Any, w_o: Any, ln2: Tensor, w_gate: Any,
    w_up: Any, w_down: Any, k_cache: Tensor, v_cache: Tensor, pos: int, cos: Tensor, sin: Tensor, h: int,
    hkv: int, eps: float, interleaved: bool, window: int,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """Returns ``(out, r2)``, both ``[B, S, E]`` in x's dtype; the caches are written in place."""
    b, s, _ = x.shape
    d = k_cache.shape[3]
    if residual is None:
        hn, r = c.rms_norm(x, _norm_w(c, ln1, x), eps), x
    else:
        hn, r = c.add_rms_norm(x, residual, _norm_w(c, ln1, x), eps)
    y = c.contiguous(_linear(c, hn, w_qkv)).reshape(b, s, h + 2 * hkv, d).permute(0, 2, 1, 3)
    qk = c.apply_rope(y.narrow(1, 0, h + hkv), cos, sin, interleaved=interleaved)
    q, k, v = qk.narrow(1, 0, h), qk.narrow(1, h, hkv), y.narrow(1, h + hkv, hkv)
    c.kv_cache_update(k_cache, v_cache, k, v, pos)
    if k_cache.dtype is not q.dtype:
        q = c.cast(q, k_cache.dtype)
    att, _ = c.flash_attention_fwd(q, k_cache, v_cache, causal=True, window=window, kv_seq_len=pos + s)
    att = c.contiguous(att.permute(0, 2, 1, 3)).reshape(b, s, h * d)
    if att.dtype is not x.dtype:
        att = c.cast(att, x.dtype)
    hn, r = c.add_rms_norm(_linear(c, att, w_o), r, _norm_w(c, ln2, x), eps)
    if isinstance(w_gate, QuantTensor) and isinstance(w_up, QuantTensor):
        f = c.quant_swiglu(hn, w_gate, w_up)
        f = f if f.dtype is x.dtype else c.cast(f, x.dtype)
    else:
        f = c.mul(c.silu(_linear(c, hn, w_gate)), _linear(c, hn, w_up))
    return _linear(c, f, w_down), r
