"""DecoderBlock: one pre-norm transformer layer with a fused residual stream.

``block(x, residual, cache, layer, pos) -> (mlp_out, residual)``: ``x`` is the previous
sublayer's output not yet added to ``residual`` (``residual=None`` for the first block,
whose ``x`` is the embedding). Each norm adds and normalizes in one pass
(``RMSNorm.add_norm``); the caller's final norm adds the last ``mlp_out``.
Layout: ``x, residual [B, S, E]``.
"""

from __future__ import annotations

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

    def __call__(
        self, x: Tensor, residual: Tensor | None, cache: KVCache | None = None, layer: int = 0, pos: int = 0
    ) -> tuple[Tensor, Tensor]:
        if residual is None:
            h, residual = self.input_layernorm(x), x
        else:
            h, residual = self.input_layernorm.add_norm(x, residual)
        a = self.self_attn(h, cache, layer, pos)
        h, residual = self.post_attention_layernorm.add_norm(a, residual)
        return self.mlp(h), residual


__all__ = ["DecoderBlock"]
