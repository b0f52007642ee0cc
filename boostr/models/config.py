"""LlamaConfig: the shape and options of a LLaMA-family decoder, from GGUF metadata or HF config.json.

GGUF keys (``{arch}.*`` with ``arch = general.architecture``): ``embedding_length``,
``feed_forward_length``, ``block_count``, ``attention.head_count``, ``attention.head_count_kv``,
``attention.key_length``, ``attention.layer_norm_rms_epsilon``, ``rope.freq_base``,
``rope.scaling.{type,factor,original_context_length,attn_factor,yarn_beta_fast,yarn_beta_slow}``,
``attention.sliding_window``, ``context_length``, ``vocab_size``. HF keys: ``hidden_size``,
``intermediate_size``, ``num_hidden_layers``, ``num_attention_heads``, ``num_key_value_heads``,
``head_dim``, ``rms_norm_eps``, ``rope_theta``, ``rope_scaling``, ``sliding_window``,
``max_position_embeddings``, ``vocab_size``, ``tie_word_embeddings``, ``attention_bias``.
GGUF llama Q/K weights are stored permuted for adjacent-pair RoPE (``rope_interleaved=True``);
HF checkpoints use split halves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import FormatError

LLAMA_ARCHS = ("llama", "mistral", "qwen2", "smollm", "granite")
"""Architectures whose GGUF tensors and metadata load as a LLaMA decoder."""
HF_ARCHS = ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM")


@dataclass
class LlamaConfig:
    """A LLaMA-family decoder. ``rope_scaling`` is an HF ``rope_scaling`` dict or None."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int = 0
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    rope_scaling: dict[str, Any] | None = None
    rope_interleaved: bool = False
    max_position_embeddings: int = 4096
    sliding_window: int = 0
    tie_word_embeddings: bool = False
    attention_bias: bool = False
    bos_token_id: int | None = None
    eos_token_ids: list[int] = field(default_factory=list)
    architecture: str = "llama"

    def __post_init__(self) -> None:
        if self.head_dim == 0 and self.num_heads:
            self.head_dim = self.hidden_size // self.num_heads
        for name in ("vocab_size", "hidden_size", "intermediate_size", "num_layers", "num_heads", "num_kv_heads"):
            v = getattr(self, name)
            if not isinstance(v, int) or v <= 0:
                raise FormatError(f"model config: {name} must be a positive int, received {v!r}")
        if self.num_heads % self.num_kv_heads:
            raise FormatError(
                f"model config: {self.num_heads} heads are not a multiple of {self.num_kv_heads} KV heads"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # ------------------------------------------------------------------ GGUF
    @classmethod
    def from_gguf(cls, md: dict[str, Any]) -> LlamaConfig:
        """From decoded GGUF metadata (``boostr.formats.gguf.GGUFFile.metadata``)."""
        arch = md.get("general.architecture")
        if arch not in LLAMA_ARCHS:
            raise FormatError(f"GGUF architecture {arch!r} is not a LLaMA-family decoder; supported: {LLAMA_ARCHS}")

        def get(key: str, default: Any = None, required: bool = False) -> Any:
            v = md.get(f"{arch}.{key}", default)
            if required and v is None:
                raise FormatError(f"GGUF metadata lacks {arch}.{key}")
            return v

        heads = int(get("attention.head_count", required=True))
        kv = get("attention.head_count_kv", heads)
        hidden = int(get("embedding_length", required=True))
        vocab = get("vocab_size") or len(md.get("tokenizer.ggml.tokens") or ()) or None
        if vocab is None:
            raise FormatError(f"GGUF metadata has neither {arch}.vocab_size nor tokenizer.ggml.tokens")
        eos = md.get("tokenizer.ggml.eos_token_id")
        eot = md.get("tokenizer.ggml.eot_token_id")
        return cls(
            vocab_size=int(vocab),
            hidden_size=hidden,
            intermediate_size=int(get("feed_forward_length", required=True)),
            num_layers=int(get("block_count", required=True)),
            num_heads=heads,
            num_kv_heads=int(kv),
            head_dim=int(get("attention.key_length") or get("rope.dimension_count") or hidden // heads),
            rms_norm_eps=float(get("attention.layer_norm_rms_epsilon", 1e-5)),
            rope_theta=float(get("rope.freq_base", 10000.0)),
            rope_scaling=_gguf_rope_scaling(get),
            rope_interleaved=arch in ("llama", "mistral", "smollm", "granite"),
            max_position_embeddings=int(get("context_length", 4096)),
            sliding_window=int(get("attention.sliding_window", 0) or 0),
            tie_word_embeddings=False,
            bos_token_id=md.get("tokenizer.ggml.bos_token_id"),
            eos_token_ids=sorted({int(t) for t in (eos, eot) if t is not None}),
            architecture=str(arch),
        )

    # -------------------------------------------------------------------- HF
    @classmethod
    def from_hf(cls, cfg: dict[str, Any]) -> LlamaConfig:
        """From an HF ``config.json`` dict (LLaMA, Mistral, Qwen2 style)."""
        archs = cfg.get("architectures") or []
        if archs and not any(a in HF_ARCHS for a in archs):
            raise FormatError(f"HF architectures {archs} are not LLaMA-family decoders; supported: {HF_ARCHS}")
        try:
            heads = int(cfg["num_attention_heads"])
            hidden = int(cfg["hidden_size"])
            scaling = cfg.get("rope_scaling")
            max_pos = int(cfg.get("max_position_embeddings", 4096))
            if isinstance(scaling, dict):
                scaling = dict(scaling)
                kind = scaling.get("rope_type", scaling.get("type"))
                if kind == "default":
                    scaling = None
                elif kind == "yarn":
                    scaling.setdefault("original_max_position_embeddings", max_pos)
            window = cfg.get("sliding_window") if cfg.get("use_sliding_window", True) else None
            eos = cfg.get("eos_token_id")
            return cls(
                vocab_size=int(cfg["vocab_size"]),
                hidden_size=hidden,
                intermediate_size=int(cfg["intermediate_size"]),
                num_layers=int(cfg["num_hidden_layers"]),
                num_heads=heads,
                num_kv_heads=int(cfg.get("num_key_value_heads") or heads),
                head_dim=int(cfg.get("head_dim") or hidden // heads),
                rms_norm_eps=float(cfg.get("rms_norm_eps", 1e-5)),
                rope_theta=float(cfg.get("rope_theta", 10000.0)),
                rope_scaling=scaling,
                rope_interleaved=False,
                max_position_embeddings=max_pos,
                sliding_window=int(window or 0),
                tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
                attention_bias=bool(cfg.get("attention_bias", cfg.get("model_type") == "qwen2")),
                bos_token_id=cfg.get("bos_token_id"),
                eos_token_ids=sorted(set(eos if isinstance(eos, list) else [] if eos is None else [eos])),
                architecture=str(cfg.get("model_type", "llama")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"HF config.json is missing or has a bad value: {exc!r}") from exc

    def to_hf(self) -> dict[str, Any]:
        """An HF ``config.json`` dict for this config (safetensors checkpoints)."""
        return {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size, "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_layers, "num_attention_heads": self.num_heads,
            "num_key_value_heads": self.num_kv_heads, "head_dim": self.head_dim, "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta, "rope_scaling": self.rope_scaling,
            "max_position_embeddings": self.max_position_embeddings, "sliding_window": self.sliding_window or None,
            "tie_word_embeddings": self.tie_word_embeddings, "attention_bias": self.attention_bias,
            "bos_token_id": self.bos_token_id, "eos_token_id": self.eos_token_ids or None,
        }  # fmt: skip


def _gguf_rope_scaling(get: Any) -> dict[str, Any] | None:
    kind = get("rope.scaling.type")
    factor = get("rope.scaling.factor")
    if kind in (None, "none") or (kind is None and not factor):
        return None
    if kind not in ("linear", "yarn"):
        raise FormatError(f"GGUF rope.scaling.type {kind!r} is not supported (expected none, linear or yarn)")
    out: dict[str, Any] = {"rope_type": kind, "factor": float(factor or 1.0)}
    if kind == "yarn":
        orig = get("rope.scaling.original_context_length") or get("context_length")
        out["original_max_position_embeddings"] = int(orig)
        for key, hf in (("attn_factor", "attention_factor"), ("yarn_beta_fast", "beta_fast"),
                        ("yarn_beta_slow", "beta_slow")):  # fmt: skip
            v = get(f"rope.scaling.{key}")
            if v is not None:
                out[hf] = float(v)
    return out


__all__ = ["HF_ARCHS", "LLAMA_ARCHS", "LlamaConfig"]
