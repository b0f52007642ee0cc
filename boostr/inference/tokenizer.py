"""Tokenizer: HF ``tokenizers`` pipelines built from GGUF metadata (or an HF tokenizer.json).

GGUF ``tokenizer.ggml.model``:

- ``gpt2``: byte-level BPE (GPT-2, LLaMA 3, SmolLM, Qwen). ``tokens`` + ``merges`` make a BPE
  model; the pre-tokenizer follows ``tokenizer.ggml.pre`` as llama.cpp does (``llama-bpe``/``llama3``
  and ``qwen2``: their split regex + byte-level; ``smollm``/``starcoder``-like: single digits +
  GPT-2 regex; anything else: the GPT-2 regex); a byte-level decoder.
- ``llama``: SentencePiece BPE (LLaMA 1/2, Mistral). Merges are derived from the pieces and their
  ``scores`` (a pair merges when the concatenation is a piece; higher score first, as HF's
  SentencePiece converter does), ``<0xNN>`` pieces give byte fallback, spaces become ``▁``
  with a prefix space when ``tokenizer.ggml.add_space_prefix`` (default true).

Control tokens (``token_type`` 3) are special tokens; user-defined ones (4) added tokens: both
are matched whole in input text. ``encode`` prepends BOS when ``add_bos_token`` says so.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import FormatError, InvalidArgument
from .chat_template import render_chat

LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_SPLIT = (
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
DIGIT_PRE = ("smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva")
TOKEN_CONTROL, TOKEN_USER = 3, 4


def _gpt2_pre(pre: str) -> Any:
    from tokenizers import Regex, pre_tokenizers

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre in ("llama-bpe", "llama3", "qwen2", "deepseek-r1-qwen"):
        regex = QWEN2_SPLIT if pre.startswith(("qwen2", "deepseek")) else LLAMA3_SPLIT
        return pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])  # fmt: skip
    if pre in DIGIT_PRE:
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    return byte_level


def _spm_merges(tokens: list[str], scores: list[float], vocab: dict[str, int]) -> list[tuple[str, str]]:
    ranked = []
    for piece, idx in vocab.items():
        for i in range(1, len(piece)):
            a, b = piece[:i], piece[i:]
            if a in vocab and b in vocab:
                ranked.append((-scores[idx], vocab[a], vocab[b], a, b))
    ranked.sort()
    return [(a, b) for _, _, _, a, b in ranked]


class Tokenizer:
    """``encode(text) -> ids``, ``decode(ids) -> text``, ``apply_chat_template(messages) -> str``."""

    def __init__(self, hf: Any, bos_id: int | None, eos_ids: list[int], add_bos: bool,
                 chat_template: str | None = None) -> None:  # fmt: skip
        self.hf = hf
        self.bos_id = bos_id
        self.eos_ids = list(eos_ids)
        self.add_bos = bool(add_bos and bos_id is not None)
        self.chat_template = chat_template

    @property
    def vocab_size(self) -> int:
        return int(self.hf.get_vocab_size(with_added_tokens=True))

    def token(self, i: int) -> str:
        """The vocabulary string of token ``i``."""
        return str(self.hf.id_to_token(i))

    def encode(self, text: str, add_bos: bool | None = None) -> list[int]:
        """Token ids of ``text`` (special tokens in the text are matched); BOS per ``add_bos``."""
        if not isinstance(text, str):
            raise InvalidArgument("text", f"expected a str, received {type(text).__name__}")
        ids = list(self.hf.encode(text, add_special_tokens=False).ids)
        bos = self.add_bos if add_bos is None else add_bos
        return [self.bos_id, *ids] if bos and self.bos_id is not None else ids

    def decode(self, ids: list[int], skip_special: bool = True) -> str:
        return str(self.hf.decode(list(ids), skip_special_tokens=skip_special))

    def apply_chat_template(self, messages: list[dict[str, Any]], add_generation_prompt: bool = True) -> str:
        """The prompt text of ``messages`` rendered with the model's chat template (sandboxed)."""
        if not self.chat_template:
            raise InvalidArgument("messages", "this model has no chat template (tokenizer.chat_template)")
        bos = self.token(self.bos_id) if self.bos_id is not None else ""
        eos = self.token(self.eos_ids[0]) if self.eos_ids else ""
        return render_chat(self.chat_template, messages, add_generation_prompt, bos_token=bos, eos_token=eos)

    # ------------------------------------------------------------- builders
    @classmethod
    def from_gguf_metadata(cls, md: dict[str, Any]) -> Tokenizer:
        """Build from GGUF ``tokenizer.ggml.*`` metadata (see the module doc)."""
        from tokenizers import AddedToken, decoders, models, normalizers
        from tokenizers import Tokenizer as HFTokenizer

        kind = md.get("tokenizer.ggml.model")
        tokens = md.get("tokenizer.ggml.tokens")
        if not isinstance(tokens, list) or not tokens:
            raise FormatError("GGUF metadata has no tokenizer.ggml.tokens")
        types = md.get("tokenizer.ggml.token_type") or [1] * len(tokens)
        if len(types) != len(tokens):
            raise FormatError(f"tokenizer.ggml.token_type has {len(types)} entries for {len(tokens)} tokens")
        vocab: dict[str, int] = {}
        for i, t in enumerate(tokens):
            vocab.setdefault(t, i)
        try:
            if kind == "gpt2":
                merges = [tuple(m.split(" ", 1)) for m in md.get("tokenizer.ggml.merges") or []]
                if any(len(m) != 2 for m in merges):
                    raise FormatError("tokenizer.ggml.merges holds an entry without a space")
                hf = HFTokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
                hf.pre_tokenizer = _gpt2_pre(str(md.get("tokenizer.ggml.pre", "default")))
                hf.decoder = decoders.ByteLevel()
            elif kind == "llama":
                scores = md.get("tokenizer.ggml.scores") or [0.0] * len(tokens)
                unk = md.get("tokenizer.ggml.unknown_token_id", 0)
                hf = HFTokenizer(models.BPE(vocab=vocab, merges=_spm_merges(tokens, scores, vocab),
                                            unk_token=tokens[unk], fuse_unk=True, byte_fallback=True))  # fmt: skip
                prefix = bool(md.get("tokenizer.ggml.add_space_prefix", True))
                steps = [normalizers.Prepend("▁")] if prefix else []
                hf.normalizer = normalizers.Sequence([*steps, normalizers.Replace(" ", "▁")])
                dsteps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
                hf.decoder = decoders.Sequence(dsteps + ([decoders.Strip(" ", 1, 0)] if prefix else []))
            else:
                raise FormatError(f"tokenizer.ggml.model {kind!r} is not supported (expected 'gpt2' or 'llama')")
        except FormatError:
            raise
        except Exception as exc:  # tokenizers raises plain Exceptions on bad vocab/merges
            raise FormatError(f"the GGUF tokenizer could not be built: {exc}") from exc
        special = [
            AddedToken(tokens[i], special=True, normalized=False) for i, t in enumerate(types) if t == TOKEN_CONTROL
        ]
        user = [AddedToken(tokens[i], special=False, normalized=False) for i, t in enumerate(types) if t == TOKEN_USER]
        hf.add_special_tokens(special)
        hf.add_tokens(user)
        eos = [md[k] for k in ("tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id") if md.get(k) is not None]
        return cls(hf, md.get("tokenizer.ggml.bos_token_id"), sorted(set(eos)),
                   bool(md.get("tokenizer.ggml.add_bos_token", kind == "llama")),
                   md.get("tokenizer.chat_template"))  # fmt: skip

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], hf_config: dict[str, Any] | None = None) -> Tokenizer:
        """From an HF ``tokenizer.json`` (+ ``tokenizer_config.json`` beside it for BOS/EOS/template)."""
        from tokenizers import Tokenizer as HFTokenizer

        try:
            hf = HFTokenizer.from_file(os.fspath(path))
        except Exception as exc:
            raise FormatError(f"tokenizer {os.fspath(path)!r} could not be read: {exc}") from exc
        tc_path = os.path.join(os.path.dirname(os.fspath(path)), "tokenizer_config.json")
        tc: dict[str, Any] = {}
        if os.path.isfile(tc_path):
            with open(tc_path, encoding="utf-8") as f:
                tc = json.load(f)

        def tok_id(key: str) -> int | None:
            v = tc.get(key)
            v = v.get("content") if isinstance(v, dict) else v
            return hf.token_to_id(v) if isinstance(v, str) else None

        cfg = hf_config or {}
        bos = tok_id("bos_token") if tok_id("bos_token") is not None else cfg.get("bos_token_id")
        eos_cfg = cfg.get("eos_token_id")
        eos = [
            e for e in ([tok_id("eos_token")] + (eos_cfg if isinstance(eos_cfg, list) else [eos_cfg])) if e is not None
        ]
        return cls(hf, bos, sorted(set(eos)), bool(tc.get("add_bos_token", False)), tc.get("chat_template"))


__all__ = ["Tokenizer"]
