"""GGUF ``tokenizer.*`` metadata from an HF tokenizer (``tokenizer.json`` + ``tokenizer_config.json``).

``hf_tokenizer_metadata(directory, vocab_size)`` returns ``(metadata, notes)``: the key-values
boostr's GGUF loader (``Tokenizer.from_gguf_metadata``) and llama.cpp read, and human-readable
notes about what could not be carried over. Two BPE flavours convert:

- byte-level BPE (GPT-2, LLaMA 3, SmolLM, Qwen2: ``decoder`` ByteLevel, no byte fallback) ->
  ``tokenizer.ggml.model = gpt2`` with ``tokens``, ``token_type``, ``merges`` and a
  ``tokenizer.ggml.pre`` recognised from the pre-tokenizer (the LLaMA 3 or Qwen2 split regex,
  single digits = ``smollm``, else ``default``);
- SentencePiece-style BPE with byte fallback (LLaMA 1/2, Mistral) -> ``llama`` with ``scores``
  (minus the rank of the merge forming each piece, so merge order survives), ``<0xNN>`` pieces
  typed BYTE and ``add_space_prefix`` from the normalizer / Metaspace pre-tokenizer.

Token types: added special tokens CONTROL (3), other added tokens USER_DEFINED (4), ids the
vocab lacks below ``vocab_size`` are ``[PADn]`` UNUSED (5) tokens, as llama.cpp's converter pads.
Special ids, ``add_bos/eos_token`` and the chat template come from gguf-py's ``SpecialVocab``
(the same reader llama.cpp's ``convert_hf_to_gguf.py`` uses). Other tokenizer models (Unigram,
WordPiece) give no metadata and a note.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from ..errors import FormatError

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
_SPECIAL_KEYS = {
    "bos": "tokenizer.ggml.bos_token_id", "eos": "tokenizer.ggml.eos_token_id",
    "unk": "tokenizer.ggml.unknown_token_id", "sep": "tokenizer.ggml.seperator_token_id",
    "pad": "tokenizer.ggml.padding_token_id", "mask": "tokenizer.ggml.mask_token_id",
    "eot": "tokenizer.ggml.eot_token_id", "eom": "tokenizer.ggml.eom_token_id",
}  # fmt: skip
_BYTE_RE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")


def _has_type(node: Any, kind: str) -> bool:
    """True when a tokenizer.json component (or a Sequence of them) contains a step of ``kind``."""
    if isinstance(node, dict):
        return node.get("type") == kind or any(_has_type(v, kind) for v in node.values())
    if isinstance(node, list):
        return any(_has_type(v, kind) for v in node)
    return False


def _pre_name(pre: Any) -> str:
    """llama.cpp's ``tokenizer.ggml.pre`` name for a byte-level pre-tokenizer boostr can rebuild."""
    from ..inference.tokenizer import LLAMA3_SPLIT, QWEN2_SPLIT

    text = json.dumps(pre)
    if json.dumps(LLAMA3_SPLIT) in text:
        return "llama-bpe"
    if json.dumps(QWEN2_SPLIT) in text:
        return "qwen2"
    if '"Digits"' in text and '"individual_digits": true' in text:
        return "smollm"
    return "default"


def _merge_pairs(merges: list[Any]) -> list[tuple[str, str]]:
    out = []
    for m in merges:
        pair = m.split(" ", 1) if isinstance(m, str) else m
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise FormatError(f"tokenizer.json merge {m!r} is not a pair")
        out.append((str(pair[0]), str(pair[1])))
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"tokenizer {str(path)!r} could not be read: {exc}") from exc
    if not isinstance(doc, dict):
        raise FormatError(f"tokenizer {str(path)!r} is not a JSON object")
    return doc


def hf_tokenizer_metadata(directory: str | Path, vocab_size: int) -> tuple[dict[str, Any], list[str]]:
    """``(GGUF tokenizer key-values, notes)`` of the HF tokenizer in ``directory`` (see the module doc)."""
    d = Path(directory)
    path = d / "tokenizer.json"
    if not path.is_file():
        return {}, [f"no tokenizer.json in {str(d)!r}: the GGUF carries no tokenizer"]
    doc = _read(path)
    model = doc.get("model") or {}
    if model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict):
        return {}, [f"tokenizer model {model.get('type')!r} is not converted (BPE only): the GGUF carries no tokenizer"]
    by_id: dict[int, str] = {int(i): str(t) for t, i in model["vocab"].items()}
    types: dict[int, int] = {}
    for a in doc.get("added_tokens") or []:
        by_id[int(a["id"])] = str(a["content"])
        types[int(a["id"])] = CONTROL if a.get("special") else USER_DEFINED
    n = max(vocab_size, max(by_id, default=-1) + 1)
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(n)]
    toktypes = [types.get(i, NORMAL if i in by_id else UNUSED) for i in range(n)]
    pairs = _merge_pairs(model.get("merges") or [])
    md: dict[str, Any] = {}
    if not model.get("byte_fallback") and _has_type(doc.get("decoder"), "ByteLevel"):
        md["tokenizer.ggml.model"] = "gpt2"
        md["tokenizer.ggml.pre"] = _pre_name(doc.get("pre_tokenizer"))
        md["tokenizer.ggml.merges"] = [f"{a} {b}" for a, b in pairs]
    elif model.get("byte_fallback"):
        rank: dict[str, int] = {}
        for i, (a, b) in enumerate(pairs):
            rank.setdefault(a + b, i)
        md["tokenizer.ggml.model"] = "llama"
        md["tokenizer.ggml.scores"] = [
            -float(rank[t]) if t in rank else 0.0 if len(t) == 1 else -float(len(pairs) + i)
            for i, t in enumerate(tokens)
        ]
        for i, t in enumerate(tokens):
            if toktypes[i] == NORMAL and _BYTE_RE.match(t):
                toktypes[i] = BYTE
        unk = model.get("unk_token")
        if isinstance(unk, str) and unk in model["vocab"]:
            toktypes[int(model["vocab"][unk])] = UNKNOWN
            md["tokenizer.ggml.unknown_token_id"] = int(model["vocab"][unk])
        pre = doc.get("pre_tokenizer") or {}
        prefix = '"Prepend"' in json.dumps(doc.get("normalizer")) or (
            _has_type(pre, "Metaspace") and '"prepend_scheme": "never"' not in json.dumps(pre)
        )
        md["tokenizer.ggml.add_space_prefix"] = prefix
    else:
        return {}, ["BPE tokenizer without ByteLevel decoding or byte fallback is not converted: no tokenizer"]
    md["tokenizer.ggml.tokens"] = tokens
    md["tokenizer.ggml.token_type"] = toktypes
    from gguf import SpecialVocab

    logging.getLogger("gguf.vocab").setLevel(logging.ERROR)
    try:
        sv = SpecialVocab(d, load_merges=False, n_vocab=n)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise FormatError(f"tokenizer_config.json in {str(d)!r} could not be read: {exc}") from exc
    for typ, tid in sv.special_token_ids.items():
        if typ in _SPECIAL_KEYS:
            md[_SPECIAL_KEYS[typ]] = int(tid)
    for typ, flag in sv.add_special_token.items():
        if typ in ("bos", "eos", "sep"):
            md[f"tokenizer.ggml.add_{typ}_token"] = bool(flag)
    notes = []
    if isinstance(sv.chat_template, str):
        md["tokenizer.chat_template"] = sv.chat_template
    elif sv.chat_template is not None:
        notes.append("a list of named chat templates is not carried over (only a single template string is)")
    return md, notes


__all__ = ["hf_tokenizer_metadata"]
