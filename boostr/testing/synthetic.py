"""Synthetic LLaMA GGUF files: any shape, random weights in any format the CPU can quantize,
and a small GPT-2 byte-level BPE tokenizer in the metadata - for tests and GPU benchmarks
(the GPU machine cannot receive the real model; it generates one of the same shape instead).

``write_synthetic_gguf(path, spec, quant="Q8_0", seed=0)`` writes ``spec`` (a ``SyntheticSpec``
or a preset name: ``"tiny"``, ``"smollm2"``, ``"llama3-8b"``). Weights are ``N(0, 1/K)`` for a
``[N, K]`` matrix and the embedding, ``1 + N(0, 0.1)`` for norms (activations stay O(1) at any
depth and logits spread over O(1), tied head or not). A matrix whose row length is not a multiple
of the format's block is written in Q8_0 (or F32 when not even that fits), as llama.cpp's
quantizer falls back. Norms are F32. Quantization runs on the boostr CPU client
(``client.quantize``) for every format in ``kernels/cpu/quant``; F32/F16/BF16 are written as floats.

``fast=True`` (big shapes) quantizes a pool of 64 random rows once per matrix shape and fills
each matrix with rows drawn from the pool: valid blocks of realistic magnitude written at memory
speed, with repeated rows (fine for speed measurements, not for accuracy tests).

Rope scaling: ``linear``/``yarn`` go into the ``llama.rope.scaling.*`` metadata; ``llama3`` is
written as llama.cpp does, a ``rope_freqs.weight`` tensor of per-frequency divisors.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, replace
from functools import partial
from itertools import pairwise
from typing import Any

import numpy as np

from ..formats.gguf_write import GGUFTensor, write_gguf
from ..quant.formats import FORMATS

FLOATS = {"F32": np.float32, "F16": np.float16}

CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
CORPUS = (
    "The capital of France is Paris. The capital of Italy is Rome. The quick brown fox jumps over the lazy dog. "
    "Hello world! Once upon a time there was a model that generated text, one token at a time, 1234567890."
)


def _bytes_to_unicode() -> list[str]:
    """GPT-2's printable stand-in character for each byte 0..255."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("\u00a1"), ord("\u00ac") + 1), *range(ord("\u00ae"), 256)]
    out = {b: chr(b) for b in bs}
    n = 0
    for b in range(256):
        if b not in out:
            out[b] = chr(256 + n)
            n += 1
    return [out[b] for b in range(256)]


def byte_level_vocab(vocab_size: int) -> tuple[list[str], list[int], list[str]]:
    """``(tokens, token types, merges)`` of a GPT-2 byte-level BPE vocab with ``vocab_size`` tokens:
    3 control tokens, the 256 byte characters, merges learned on a small English corpus, then
    deterministic filler merges (existing token + letter) up to the size."""
    alphabet = _bytes_to_unicode()
    tokens = [*SPECIALS, *alphabet]
    if vocab_size < len(tokens):
        raise ValueError(f"vocab_size must be at least {len(tokens)}, received {vocab_size}")
    have = set(tokens)
    merges: list[str] = []

    def add(a: str, b: str) -> None:
        merges.append(f"{a} {b}")
        if a + b not in have:
            have.add(a + b)
            tokens.append(a + b)

    enc = {i: alphabet[i] for i in range(256)}
    words = Counter(tuple(enc[b] for b in (w if i == 0 else " " + w).encode()) for i, w in enumerate(CORPUS.split()))
    while len(tokens) < vocab_size:
        pairs: Counter[tuple[str, str]] = Counter()
        for w, n in words.items():
            for pair in pairwise(w):
                pairs[pair] += n
        if not pairs:
            break
        (a, b), _ = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        add(a, b)
        merged: Counter[tuple[str, ...]] = Counter()
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == (a, b):
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += n
        words = merged
    letters = "etaoinshrdlucmfwypvbgkqjxz"
    i = len(SPECIALS)
    while len(tokens) < vocab_size:
        for ch in letters:
            if len(tokens) >= vocab_size:
                break
            if tokens[i] + ch not in have:
                add(tokens[i], ch)
        i += 1
    return tokens, [3] * len(SPECIALS) + [1] * (len(tokens) - len(SPECIALS)), merges


@dataclass(frozen=True)
class SyntheticSpec:
    """Shape and options of a synthetic LLaMA (``head_dim`` 0 means ``hidden_size // num_heads``)."""

    vocab_size: int = 512
    hidden_size: int = 128
    intermediate_size: int = 256
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    head_dim: int = 0
    rope_theta: float = 10000.0
    rope_scaling: dict[str, Any] | None = None
    sliding_window: int = 0
    tied: bool = True
    context_length: int = 2048
    rms_norm_eps: float = 1e-5

    @property
    def dim(self) -> int:
        return self.head_dim or self.hidden_size // self.num_heads


PRESETS = {
    "tiny": SyntheticSpec(),
    "smollm2": SyntheticSpec(49152, 576, 1536, 30, 9, 3, rope_theta=100000.0, tied=True, context_length=8192),
    "llama3-8b": SyntheticSpec(128256, 4096, 14336, 32, 32, 8, rope_theta=500000.0, tied=False, context_length=8192),
}


def llama3_freq_factors(spec: SyntheticSpec) -> np.ndarray:
    """llama.cpp's ``rope_freqs`` for HF llama3 scaling: ``inv_freq / scaled_inv_freq`` per frequency."""
    s = spec.rope_scaling or {}
    d = spec.dim
    inv = 1.0 / spec.rope_theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    factor, lo, hi = float(s["factor"]), float(s.get("low_freq_factor", 1.0)), float(s.get("high_freq_factor", 4.0))
    old = float(s["original_max_position_embeddings"])
    wavelen = 2 * np.pi / inv
    smooth = np.clip((old / wavelen - lo) / (hi - lo), 0.0, 1.0)
    scaled = np.where(wavelen < old / hi, inv, np.where(wavelen > old / lo, inv / factor,
                      (1 - smooth) * inv / factor + smooth * inv))  # fmt: skip
    return (inv / scaled).astype(np.float32)


def metadata(spec: SyntheticSpec) -> dict[str, Any]:
    """GGUF key-values of ``spec`` (llama architecture + tokenizer)."""
    tokens, types, merges = byte_level_vocab(spec.vocab_size)
    md: dict[str, Any] = {
        "general.name": "boostr synthetic llama", "llama.block_count": spec.num_layers,
        "llama.context_length": spec.context_length, "llama.embedding_length": spec.hidden_size,
        "llama.feed_forward_length": spec.intermediate_size, "llama.attention.head_count": spec.num_heads,
        "llama.attention.head_count_kv": spec.num_kv_heads, "llama.rope.freq_base": float(spec.rope_theta),
        "llama.attention.layer_norm_rms_epsilon": float(spec.rms_norm_eps), "llama.vocab_size": spec.vocab_size,
        "llama.rope.dimension_count": spec.dim, "llama.attention.key_length": spec.dim,
        "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "smollm", "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": types, "tokenizer.ggml.merges": merges, "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2, "tokenizer.ggml.add_bos_token": False,
        "tokenizer.chat_template": CHATML_TEMPLATE,
    }  # fmt: skip
    if spec.sliding_window:
        md["llama.attention.sliding_window"] = spec.sliding_window
    kind = (spec.rope_scaling or {}).get("rope_type")
    if kind in ("linear", "yarn"):
        s = spec.rope_scaling or {}
        md["llama.rope.scaling.type"] = kind
        md["llama.rope.scaling.factor"] = float(s["factor"])
        if kind == "yarn":
            md["llama.rope.scaling.original_context_length"] = int(s["original_max_position_embeddings"])
            for hf, key in (("beta_fast", "yarn_beta_fast"), ("beta_slow", "yarn_beta_slow")):
                if hf in s:
                    md[f"llama.rope.scaling.{key}"] = float(s[hf])
    elif kind not in (None, "default", "llama3"):
        raise ValueError(f"unsupported synthetic rope scaling {kind!r}")
    return md


def _shapes(spec: SyntheticSpec) -> list[tuple[str, tuple[int, ...], str]]:
    """(gguf name, numpy shape, role) in llama.cpp's order; role: embed | matrix | norm."""
    e, f, d = spec.hidden_size, spec.intermediate_size, spec.dim
    out: list[tuple[str, tuple[int, ...], str]] = [("token_embd.weight", (spec.vocab_size, e), "embed")]
    for i in range(spec.num_layers):
        p = f"blk.{i}."
        out += [(p + "attn_norm.weight", (e,), "norm"), (p + "attn_q.weight", (spec.num_heads * d, e), "matrix"),
                (p + "attn_k.weight", (spec.num_kv_heads * d, e), "matrix"),
                (p + "attn_v.weight", (spec.num_kv_heads * d, e), "matrix"),
                (p + "attn_output.weight", (e, spec.num_heads * d), "matrix"), (p + "ffn_norm.weight", (e,), "norm"),
                (p + "ffn_gate.weight", (f, e), "matrix"), (p + "ffn_up.weight", (f, e), "matrix"),
                (p + "ffn_down.weight", (e, f), "matrix")]  # fmt: skip
    out.append(("output_norm.weight", (e,), "norm"))
    if not spec.tied:
        out.append(("output.weight", (spec.vocab_size, e), "matrix"))
    return out


def _type_for(quant: str, k: int) -> str:
    for t in (quant, "Q8_0"):
        if t in FLOATS or t == "BF16" or k % FORMATS[t].block_elems == 0:
            return t
    return "F32"


class _Maker:
    """Produces one tensor's bytes on demand (random floats, then quantized on the CPU client)."""

    def __init__(self, client: Any, seed: int, fast: bool) -> None:
        self.client, self.seed, self.fast = client, seed, fast
        self.pools: dict[tuple[str, int], np.ndarray] = {}

    def floats(self, idx: int, shape: tuple[int, ...], role: str) -> np.ndarray:
        rng = np.random.default_rng([self.seed, idx])
        x = rng.standard_normal(shape, dtype=np.float32)
        if role == "norm":
            return (1.0 + 0.1 * x).astype(np.float32)
        return x * np.float32(1.0 / np.sqrt(shape[-1]))

    def quantize(self, x: np.ndarray, kind: str) -> np.ndarray:
        if kind in FLOATS:
            return x.astype(FLOATS[kind])
        if kind == "BF16":
            import ml_dtypes

            return x.astype(ml_dtypes.bfloat16)
        qt = self.client.quantize(self.client.from_numpy(x), kind)
        return qt.raw().reshape(x.shape[0], -1)

    def make(self, idx: int, shape: tuple[int, ...], role: str, kind: str) -> np.ndarray:
        if not self.fast or len(shape) == 1 or kind in FLOATS or kind == "BF16":
            return self.quantize(self.floats(idx, shape, role), kind)
        key = (kind, shape[-1], role)
        if key not in self.pools:
            self.pools[key] = self.quantize(self.floats(idx, (64, shape[-1]), role), kind)  # type: ignore[index]
        pool = self.pools[key]  # type: ignore[index]
        rows = np.random.default_rng([self.seed, idx]).integers(0, pool.shape[0], shape[0])
        return np.take(pool, rows, axis=0)


def write_synthetic_gguf(
    path: str | os.PathLike[str], spec: SyntheticSpec | str = "tiny", quant: str = "Q8_0", seed: int = 0,
    fast: bool = False, progress: bool = False, embed_quant: str | None = None,
) -> str:  # fmt: skip
    """Write a synthetic LLaMA GGUF (see the module doc); returns the path.

    ``quant``: the matrices' GGML type; ``embed_quant``: the embedding's (default: ``quant``).
    """
    from ..runtime.registry import get_client

    sp = PRESETS[spec] if isinstance(spec, str) else spec
    if quant not in FORMATS and quant not in FLOATS and quant != "BF16":
        raise ValueError(f"unknown GGML type {quant!r}")
    maker = _Maker(get_client("cpu"), seed, fast)
    tensors = []
    for idx, (name, shape, role) in enumerate(_shapes(sp)):
        q = embed_quant or quant if role == "embed" else quant
        kind = "F32" if role == "norm" else _type_for(q, shape[-1])
        tensors.append(GGUFTensor(name, kind, shape, make=partial(maker.make, idx, shape, role, kind)))
    if (sp.rope_scaling or {}).get("rope_type") == "llama3":
        tensors.append(GGUFTensor("rope_freqs.weight", "F32", (sp.dim // 2,), data=llama3_freq_factors(sp)))
    write_gguf(path, "llama", metadata(sp), tensors, progress=progress)
    return os.fspath(path)


def spec_with(spec: SyntheticSpec | str, **changes: Any) -> SyntheticSpec:
    """A copy of a spec (or preset) with fields changed."""
    return replace(PRESETS[spec] if isinstance(spec, str) else spec, **changes)


__all__ = [
    "CHATML_TEMPLATE",
    "PRESETS",
    "byte_level_vocab",
    "SyntheticSpec",
    "llama3_freq_factors",
    "metadata",
    "spec_with",
    "write_synthetic_gguf",
]
