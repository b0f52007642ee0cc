"""LlamaModel: a LLaMA-family decoder (LLaMA 1-3, SmolLM, Mistral, Qwen2) over boostr.nn.

Layout: ``ids [B, S]`` ints -> logits ``[B, S, V]`` f32 (``[B, 1, V]`` with ``last_only``).
Parameters (boostr module names, HF's without ``model.``): ``embed_tokens.weight [V, E]``;
per layer ``layers.N.{input_layernorm, post_attention_layernorm}.weight [E]``,
``layers.N.self_attn.{q,k,v,o}_proj.weight`` (q ``[H*D, E]``, k/v ``[H_kv*D, E]``, o ``[E, H*D]``,
optional q/k/v biases), ``layers.N.mlp.{gate,up,down}_proj.weight`` (``[F, E]``, ``[F, E]``,
``[E, F]``); ``norm.weight [E]``; ``lm_head.weight [V, E]`` unless the head is tied to the
embedding. Weights are float Tensors or QuantTensors, in any mix.

With a ``KVCache`` the call runs at positions ``cache.length ..`` and advances the cache:
prefill passes the prompt, decode one token per call.
"""

from __future__ import annotations

from typing import Any

from ..errors import FormatError, InvalidArgument
from ..nn import Attention, DecoderBlock, Embedding, KVCache, Linear, Module, ModuleList, RMSNorm, RoPE, SwiGLU
from ..nn.module import Param
from ..nn.paged_cache import PagedKVCache
from ..tensor import Tensor
from .config import LlamaConfig


class LlamaModel(Module):
    """The decoder; build one with ``LlamaModel.from_params`` or ``boostr.models.load_model``."""

    def __init__(
        self, config: LlamaConfig, embed_tokens: Embedding, layers: ModuleList, norm: RMSNorm,
        lm_head: Linear | None, rope: RoPE,
    ) -> None:  # fmt: skip
        super().__init__()
        self.config = config
        self.embed_tokens = embed_tokens
        self.layers = layers
        self.norm = norm
        if lm_head is not None:
            self.lm_head = lm_head
        self._head = lm_head if lm_head is not None else Linear(embed_tokens.weight)
        self._rope = rope
        self.tokenizer: Any = None
        self.load_report: dict[str, Any] = {}
        self.source_metadata: dict[str, Any] = {}

    @property
    def client(self) -> Any:
        return self.embed_tokens.weight.client

    @property
    def tied(self) -> bool:
        return "lm_head" not in self._modules

    # ------------------------------------------------------------- building
    @classmethod
    def from_params(
        cls, config: LlamaConfig, params: dict[str, Param], freq_factors: list[float] | None = None
    ) -> LlamaModel:
        """Assemble a model from ``{module name: Tensor | QuantTensor}`` (see the module doc)."""
        cfg = config

        def take(name: str, optional: bool = False) -> Any:
            if name not in params:
                if optional:
                    return None
                raise FormatError(f"model weights lack {name!r}")
            return params[name]

        embed = take("embed_tokens.weight")
        client = embed.client
        rope = RoPE(client, cfg.head_dim, cfg.rope_theta, cfg.rope_scaling, cfg.rope_interleaved, freq_factors)
        layers = ModuleList()

        def lin(name: str, bias: bool = False) -> Linear:
            return Linear(take(name + ".weight"), take(name + ".bias", optional=True) if bias else None)

        def norm(name: str) -> RMSNorm:
            return RMSNorm(take(name + ".weight"), cfg.rms_norm_eps)

        for i in range(cfg.num_layers):
            p = f"layers.{i}."
            q, k, v, o = (lin(p + f"self_attn.{n}_proj", bias=True) for n in "qkvo")
            attn = Attention(q, k, v, o, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim, rope, cfg.sliding_window)
            mlp = SwiGLU(lin(p + "mlp.gate_proj"), lin(p + "mlp.up_proj"), lin(p + "mlp.down_proj"))
            layers.append(DecoderBlock(norm(p + "input_layernorm"), attn, norm(p + "post_attention_layernorm"), mlp))
        head = take("lm_head.weight", optional=True)
        if head is None and not cfg.tie_word_embeddings:
            cfg.tie_word_embeddings = True
        model = cls(cfg, Embedding(embed), layers, RMSNorm(take("norm.weight"), cfg.rms_norm_eps),
                    None if head is None else Linear(head), rope)  # fmt: skip
        model._check_shapes()
        return model

    def _check_shapes(self) -> None:
        c = self.config
        e, f, hd, kd = c.hidden_size, c.intermediate_size, c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim
        want = {
            "embed_tokens.weight": (c.vocab_size, e), "norm.weight": (e,),
            **({} if self.tied else {"lm_head.weight": (c.vocab_size, e)}),
        }  # fmt: skip
        for i in range(c.num_layers):
            p = f"layers.{i}."
            want.update({
                p + "self_attn.q_proj.weight": (hd, e), p + "self_attn.k_proj.weight": (kd, e),
                p + "self_attn.v_proj.weight": (kd, e), p + "self_attn.o_proj.weight": (e, hd),
                p + "mlp.gate_proj.weight": (f, e), p + "mlp.up_proj.weight": (f, e),
                p + "mlp.down_proj.weight": (e, f), p + "input_layernorm.weight": (e,),
                p + "post_attention_layernorm.weight": (e,),
            })  # fmt: skip
        sd = self.state_dict()
        for name, shape in want.items():
            if tuple(sd[name].shape) != shape:
                raise FormatError(f"weight {name!r} has shape {tuple(sd[name].shape)}, the config implies {shape}")

    def fuse(self) -> int:
        """Fuse q/k/v (and float gate/up) projections into single matmuls; returns the layers fused."""
        n = 0
        for layer in self.layers:
            n += int(layer.self_attn.fuse_qkv())
            layer.mlp.fuse()
        return n

    # -------------------------------------------------------------- running
    def new_cache(self, max_len: int, batch: int = 1, dtype: Any = "f32", paged: bool = False) -> Any:
        """A KV cache for ``batch`` sequences of up to ``max_len`` positions: contiguous
        (``KVCache``), or with ``paged`` a ``PagedKVCache`` whose positions live on the device
        (what a captured CUDA graph of the decode step needs)."""
        c = self.config
        if not paged:
            return KVCache(self.client, c.num_layers, batch, c.num_kv_heads, max_len, c.head_dim, dtype)
        for layer in self.layers:
            rope = layer.self_attn._rope
            if rope is not None:
                rope.ensure(max_len)  # device position ids index the whole table
        return PagedKVCache(self.client, c.num_layers, batch, c.num_kv_heads, max_len, c.head_dim, dtype)

    def __call__(self, ids: Tensor, cache: KVCache | PagedKVCache | None = None, last_only: bool = False) -> Tensor:
        """Logits for ``ids [B, S]`` (see the module doc); f32."""
        if not isinstance(ids, Tensor) or ids.ndim != 2 or not ids.dtype.is_int:
            raise InvalidArgument("ids", f"expected an int Tensor [B, S], received {ids!r}")
        s = ids.shape[1]
        pos = 0
        if cache is not None:
            cache.check_room(s)
            pos = cache.length
            if getattr(cache, "paged", False):
                cache.prepare(s)
        x = self.embed_tokens(ids)
        residual: Tensor | None = None
        for i, layer in enumerate(self.layers):
            x, residual = layer(x, residual, cache, i, pos)
        assert residual is not None
        if last_only and s > 1:
            x, residual = x.narrow(1, s - 1, 1), residual.narrow(1, s - 1, 1)
        h, _ = self.norm.add_norm(x, residual)
        logits = self._head(h)
        if cache is not None:
            cache.advance(s)
        return logits

    def decode_bytes(self) -> int:
        """Weight bytes read per decoded token: every parameter except the untied embedding table."""
        total = self.nbytes()
        return total if self.tied else total - self.embed_tokens.weight.nbytes

    def extra_repr(self) -> str:
        c = self.config
        return (f"layers={c.num_layers}, hidden={c.hidden_size}, heads={c.num_heads}/{c.num_kv_heads}, "
                f"vocab={c.vocab_size}, tied={self.tied}")  # fmt: skip


__all__ = ["LlamaModel"]
