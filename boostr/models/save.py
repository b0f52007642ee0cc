"""Saving a LlamaModel: GGUF (llama.cpp layout, quantized weights kept as their blocks) and HF
safetensors (float weights + config.json). Together with ``load_model`` these convert between
the formats.

RoPE layouts: GGUF ``llama`` files rotate adjacent pairs, so q/k rows are stored permuted
(llama.cpp's ``convert_hf_to_gguf`` permute); HF checkpoints rotate split halves. Saving moves
the q/k rows between the two layouts when the model's layout differs from the target's: per
head of ``D`` rows, HF row ``a * D/2 + j`` is GGUF row ``2 j + a``. QuantTensor rows are
permuted as whole block rows (no re-quantization).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgument
from ..formats.gguf import module_to_gguf
from ..formats.gguf_write import GGUFTensor, write_gguf
from ..formats.safetensors import module_to_hf, save_sharded
from ..quant.quant_tensor import QuantTensor
from .llama import LlamaModel

TOKENIZER_PREFIX = "tokenizer."


def _rows(arr: np.ndarray, heads: int, to_interleaved: bool) -> np.ndarray:
    """Reorder the rows of ``arr [heads * D, ...]`` between split-half and interleaved RoPE layouts."""
    n = arr.shape[0]
    d = n // heads
    shaped = arr.reshape(heads, 2, d // 2, *arr.shape[1:]) if to_interleaved else arr.reshape(
        heads, d // 2, 2, *arr.shape[1:])  # fmt: skip
    return np.ascontiguousarray(shaped.swapaxes(1, 2)).reshape(arr.shape)


def _host(p: Any) -> tuple[np.ndarray, str]:
    """A parameter as host data and its GGML type: block rows ``[rows, row_bytes]`` or a float32 array."""
    if isinstance(p, QuantTensor):
        return p.raw().reshape(p.rows, -1), p.format.name
    arr = np.asarray(p.numpy(), dtype=np.float32)
    return arr, "F32"


def _heads_of(name: str, model: LlamaModel) -> int | None:
    if name.endswith(("self_attn.q_proj.weight", "self_attn.q_proj.bias")):
        return model.config.num_heads
    if name.endswith(("self_attn.k_proj.weight", "self_attn.k_proj.bias")):
        return model.config.num_kv_heads
    return None


def gguf_metadata(model: LlamaModel) -> dict[str, Any]:
    """``llama.*`` key-values of the model's config (plus the tokenizer keys it was loaded with)."""
    c = model.config
    md: dict[str, Any] = {
        "llama.block_count": c.num_layers, "llama.context_length": c.max_position_embeddings,
        "llama.embedding_length": c.hidden_size, "llama.feed_forward_length": c.intermediate_size,
        "llama.attention.head_count": c.num_heads, "llama.attention.head_count_kv": c.num_kv_heads,
        "llama.attention.key_length": c.head_dim, "llama.attention.value_length": c.head_dim,
        "llama.rope.dimension_count": c.head_dim, "llama.rope.freq_base": float(c.rope_theta),
        "llama.attention.layer_norm_rms_epsilon": float(c.rms_norm_eps), "llama.vocab_size": c.vocab_size,
    }  # fmt: skip
    if c.sliding_window:
        md["llama.attention.sliding_window"] = c.sliding_window
    kind = (c.rope_scaling or {}).get("rope_type", (c.rope_scaling or {}).get("type"))
    if kind in ("linear", "yarn"):
        s = c.rope_scaling or {}
        md["llama.rope.scaling.type"] = kind
        md["llama.rope.scaling.factor"] = float(s["factor"])
        if kind == "yarn":
            md["llama.rope.scaling.original_context_length"] = int(s["original_max_position_embeddings"])
    md.update({k: v for k, v in model.source_metadata.items() if k.startswith(TOKENIZER_PREFIX)})
    return md


def _freq_factors(model: LlamaModel) -> list[float] | None:
    """GGUF ``rope_freqs`` divisors: the model's own, or those of an HF llama3 scaling."""
    rope = model._rope
    if rope.freq_factors is not None:
        return list(rope.freq_factors)
    c = model.config
    if (c.rope_scaling or {}).get("rope_type") != "llama3":
        return None
    from ..testing.llama_ref import inv_frequencies

    plain, _ = inv_frequencies(c.head_dim, c.rope_theta, None, c.max_position_embeddings)
    scaled, _ = inv_frequencies(c.head_dim, c.rope_theta, c.rope_scaling, c.max_position_embeddings)
    return [float(v) for v in plain / scaled]


def save_gguf(model: LlamaModel, path: str | os.PathLike[str], progress: bool = False) -> None:
    """Write ``model`` as a llama.cpp-compatible GGUF (``general.architecture = llama``)."""
    c = model.config
    kind = (c.rope_scaling or {}).get("rope_type")
    if kind not in (None, "linear", "yarn", "llama3"):
        raise InvalidArgument("model", f"rope scaling {kind!r} has no GGUF encoding")
    tensors = []
    for name, p in model.state_dict().items():
        arr, kind_name = _host(p)
        heads = _heads_of(name, model)
        if heads is not None and not c.rope_interleaved:
            arr = _rows(arr, heads, to_interleaved=True)
        shape = tuple(p.shape)
        tensors.append(GGUFTensor(module_to_gguf(name), kind_name, shape, data=arr))
    freq = _freq_factors(model)
    if freq is not None:
        tensors.append(GGUFTensor("rope_freqs.weight", "F32", (len(freq),), data=np.asarray(freq, np.float32)))
    write_gguf(path, "llama", gguf_metadata(model), tensors, progress=progress)


def save_hf(model: LlamaModel, directory: str | os.PathLike[str], max_shard_bytes: int = 4 << 30) -> None:
    """Write an HF checkpoint: f32 safetensors shards (quantized weights decoded), index, config.json."""
    c = model.config
    if model._rope.freq_factors is not None and c.rope_scaling is None:
        raise InvalidArgument("model", "GGUF rope_freqs divisors have no exact HF rope_scaling equivalent")
    out = {}
    for name, p in model.state_dict().items():
        arr = np.asarray((p.dequantize() if isinstance(p, QuantTensor) else p).numpy(), dtype=np.float32)
        heads = _heads_of(name, model)
        if heads is not None and c.rope_interleaved:
            arr = _rows(arr, heads, to_interleaved=False)
        out[module_to_hf(name)] = arr
    d = Path(directory)
    save_sharded(d, out, max_shard_bytes)
    (d / "config.json").write_text(json.dumps(c.to_hf(), indent=2), encoding="utf-8")


__all__ = ["gguf_metadata", "save_gguf", "save_hf"]
