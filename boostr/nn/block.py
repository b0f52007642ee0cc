"""DecoderBlock: one pre-norm transformer layer with a fused residual stream.

``block(x, residual, cache, layer, pos) -> (mlp_out, residual)``: ``x`` is the previous
sublayer's output not yet added to ``residual`` (``residual=None`` for the first block,
whose ``x`` is the embedding). Each norm adds and normalizes in one pass
(``RMSNorm.add_norm``); the caller's final norm adds the last ``mlp_out``.
Layout: ``x, residual [B, S, E]``.
A decode step (one position, with a cache) of a block whose q/k/v are fused and whose
projections have no biases runs as one op, ``client.fused_decoder_layer`` (the same math;
one numba call per layer), on backends that implement it natively (``fused_decoder_layer_native``:
the CPU); elsewhere the modules run op by op.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .attention import Attention
from .kv_cache import KVCache
from .mlp import SwiGLU
from .module import Module
from .norm import RMSNorm


class DecoderBlock(Module):
    """``input_layernorm -> self_attn -> post_attention_layernorm -> mlp`` with residuals."""

    def __init__(self, input_layernorm: RMSNorm, self_attn: Attention, post_attention_layernorm: RMSNorm,
                 mlp: SwiGLU) -> None:  # fmt: skip
        super().__init__()
        self.input_layernorm = input_layernorm
        self.self_attn = self_attn
        self.post_attention_layernorm = post_attention_layernorm
        self.mlp = mlp

    def _fused_weights(self) -> tuple[Any, ...] | None:
        """``(w_qkv, w_o, w_gate, w_up, w_down)`` when the block fits ``fused_decoder_layer``, else None."""
        a, m = self.self_attn, self.mlp
        qkv = a._qkv
        if qkv is None or a._rope is None or self.input_layernorm.eps != self.post_attention_layernorm.eps:
            return None
        lins = (qkv, a.o_proj, m.gate_proj, m.up_proj, m.down_proj)
        if any(lin.bias is not None for lin in lins):
            return None
        return tuple(lin.weight for lin in lins)

    def __call__(
        self, x: Tensor, residual: Tensor | None, cache: KVCache | None = None, layer: int = 0, pos: int = 0
    ) -> tuple[Tensor, Tensor]:
        if isinstance(cache, KVCache) and x.shape[1] == 1 and getattr(x.client, "fused_decoder_layer_native", False):
            ws = self._fused_weights()
            if ws is not None:
                a = self.self_attn
                rope = a._rope
                assert rope is not None
                cos, sin = rope.tables(pos, 1)
                return x.client.fused_decoder_layer(  # type: ignore[no-any-return]
                    x, residual, self.input_layernorm.weight, ws[0], ws[1], self.post_attention_layernorm.weight,
                    ws[2], ws[3], ws[4], cache.k[layer], cache.v[layer], pos, cos, sin, a.n_heads, a.n_kv_heads,
                    self.input_layernorm.eps, rope.interleaved, a.window,
                )  # fmt: skip
        if residual is None:
            h, residual = self.input_layernorm(x), x
        else:
            h, residual = self.input_layernorm.add_norm(x, residual)
        a = self.self_attn(h, cache, layer, pos)
        h, residual = self.post_attention_layernorm.add_norm(a, residual)
        return self.mlp(h), residual


__all__ = ["DecoderBlock"]
