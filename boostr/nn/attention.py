"""GQA self-attention over the attention traits, with RoPE and a contiguous KV cache.

Layout: ``x [B, S, E]`` at positions ``pos .. pos + S - 1`` -> ``[B, S, E]``.
Projections: ``q_proj [H*D, E]``, ``k_proj``/``v_proj [H_kv*D, E]``, ``o_proj [E, H*D]``
(``H % H_kv == 0``). q and k are rotated (``RoPE``), k and v written to the cache at
``pos`` and ``client.flash_attention_fwd`` attends causally over the first ``pos + S``
cached positions (``kv_seq_len``; ``window`` > 0 adds a sliding window).
``fuse_qkv()`` concatenates the three projections into one weight on the device (one
matmul per step instead of three, and one RoPE call for the adjacent q and k heads); q/k/v
then become views into it (no extra memory).
"""

from __future__ import annotations

from typing import Any

from .. import dtype as _dt
from ..quant.quant_tensor import QuantTensor, byte_dtype
from ..tensor import Tensor
from .kv_cache import KVCache
from .linear import Linear
from .module import Module
from .rope import RoPE


def _heads(y: Tensor, col: int, heads: int, d: int) -> Tensor:
    """Columns ``[col, col + heads * d)`` of ``y [B, S, T]`` as the view ``[B, heads, S, D]``."""
    b, s, t = y.shape
    if y.is_contiguous():  # one view instead of narrow + reshape + permute (decode's hot path)
        return y._view((b, heads, s, d), (s * t, d, t, 1), y.offset + col)
    return y.narrow(2, col, heads * d).reshape(b, s, heads, d).permute(0, 2, 1, 3)


def _concat_weights(ws: list[Any]) -> tuple[Any, list[Any]] | None:
    """One fused weight ``[sum N, K]`` and views of its parts, or None if they cannot fuse."""
    c = ws[0].client
    if all(type(w) is QuantTensor for w in ws):  # GGUF blocks (NF4/AWQ/GPTQ weights keep separate matmuls)
        fmt = ws[0].format
        words = byte_dtype(c) is not _dt.u8
        if any(w.format != fmt or w.shape[1] != ws[0].shape[1] or (words and w.nbytes % 4) for w in ws):
            return None
        data = c.cat([w.data for w in ws], 0)
        fused = QuantTensor(data, fmt, (sum(w.shape[0] for w in ws), ws[0].shape[1]))
        views, off = [], 0
        for w in ws:
            views.append(QuantTensor(data.narrow(0, off, w.data.numel), fmt, w.shape))
            off += w.data.numel
        return fused, views
    if all(isinstance(w, Tensor) for w in ws) and len({(w.dtype, w.shape[1]) for w in ws}) == 1:
        fused_t = c.cat(ws, 0)
        views, off = [], 0
        for w in ws:
            views.append(fused_t.narrow(0, off, w.shape[0]))
            off += w.shape[0]
        return fused_t, views
    return None


def fuse_linears(layers: list[Linear]) -> Linear | None:
    """A Linear computing ``cat([l(x) for l in layers], -1)`` in one matmul; the layers' weights
    (and biases) become views into it. None when the weights differ in kind or format."""
    got = _concat_weights([lin.weight for lin in layers])
    if got is None:
        return None
    fused_w, views = got
    biases = [lin.bias for lin in layers]
    bias = None
    if any(b is not None for b in biases):
        c = layers[0].client
        parts = [b if b is not None else c.zeros(lin.out_features) for b, lin in zip(biases, layers)]
        bias = c.cat(parts, 0)
    for lin, view in zip(layers, views):
        lin.weight = view
    return Linear(fused_w, bias)


class Attention(Module):
    """Multi-head / grouped-query attention (see the module doc)."""

    def __init__(
        self, q_proj: Linear, k_proj: Linear, v_proj: Linear, o_proj: Linear, n_heads: int, n_kv_heads: int,
        head_dim: int, rope: RoPE | None, window: int = 0,
    ) -> None:  # fmt: skip
        super().__init__()
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = q_proj, k_proj, v_proj, o_proj
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, head_dim
        self.window = int(window)
        self._rope = rope
        self._qkv: Linear | None = None

    def fuse_qkv(self) -> bool:
        """Fuse q/k/v into one projection (True if they could be fused)."""
        if self._qkv is None:
            self._qkv = fuse_linears([self.q_proj, self.k_proj, self.v_proj])
        return self._qkv is not None

    def _qkv_heads(self, x: Tensor, pos: int | Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Rotated ``q [B, H, S, D]``, rotated ``k`` and ``v [B, H_kv, S, D]`` of ``x [B, S, E]``."""
        h, hkv, d = self.n_heads, self.n_kv_heads, self.head_dim
        rope = self._rope
        if self._qkv is not None:  # one matmul; q and k are adjacent heads of its output: one RoPE call
            y = self._qkv(x)
            v = _heads(y, (h + hkv) * d, hkv, d)
            qk = _heads(y, 0, h + hkv, d)
            if rope is not None:
                qk = rope(qk, pos)
            return qk.narrow(1, 0, h), qk.narrow(1, h, hkv), v
        q, k, v = _heads(self.q_proj(x), 0, h, d), _heads(self.k_proj(x), 0, hkv, d), _heads(self.v_proj(x), 0, hkv, d)
        if rope is not None:
            q, k = rope(q, pos), rope(k, pos)
        return q, k, v

    def __call__(self, x: Tensor, cache: KVCache | None = None, layer: int = 0, pos: int = 0) -> Tensor:
        """``x [B, S, E]`` -> ``[B, S, E]``; with ``cache``, k/v are stored at ``pos`` of ``layer``."""
        if getattr(cache, "paged", False):  # nn.PagedKVCache: positions live on the device
            return cache.attend(self, x, layer)  # type: ignore[union-attr, no-any-return]
        c = x.client
        s = x.shape[1]
        q, k, v = self._qkv_heads(x, pos)
        if cache is not None:
            cache.write(layer, k, v, pos)
            kk, vv, kv_len = cache.k[layer], cache.v[layer], pos + s
            if kk.dtype is not q.dtype:
                q = c.cast(q, kk.dtype)
        else:
            kk, vv, kv_len = c.contiguous(k), c.contiguous(v), s
        out, _ = c.flash_attention_fwd(q, kk, vv, causal=True, window=self.window, kv_seq_len=kv_len)
        return self._project_out(out, x)

    def _project_out(self, out: Tensor, x: Tensor) -> Tensor:
        """Heads ``out [B, H, S, D]`` merged to ``[B, S, H * D]`` in ``x``'s dtype, through ``o_proj``."""
        b, _, s, _ = out.shape
        hd = self.n_heads * self.head_dim
        out = out.reshape(b, 1, hd) if s == 1 and out.is_contiguous() else out.permute(0, 2, 1, 3).reshape(b, s, hd)
        if out.dtype is not x.dtype:
            out = x.client.cast(out, x.dtype)
        return self.o_proj(out)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"heads={self.n_heads}, kv_heads={self.n_kv_heads}, head_dim={self.head_dim}, window={self.window}"


__all__ = ["Attention", "fuse_linears"]
