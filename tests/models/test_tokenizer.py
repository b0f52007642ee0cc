"""Tokenizers built from GGUF metadata (GPT-2 byte-level BPE and SentencePiece ``llama``): encode/
decode round trips, special tokens, and chat templates rendered in jinja2's sandbox."""

from __future__ import annotations

import pytest

from boostr import FormatError, InvalidArgument
from boostr.inference import TemplateError, Tokenizer, render_chat
from boostr.testing.synthetic import PRESETS, metadata

TEXTS = ["The capital of France is Paris.", "  leading spaces and\ttabs\nnew lines", "héllo wörld — ünïcode ✓ 🚀",
         "digits 1234567890 and 3.14", "<|im_start|>user\nhi<|im_end|>", ""]  # fmt: skip


@pytest.fixture(scope="module")
def gpt2_tok() -> Tokenizer:
    return Tokenizer.from_gguf_metadata(metadata(PRESETS["tiny"]))


def test_gpt2_round_trip(gpt2_tok):  # type: ignore[no-untyped-def]
    for text in TEXTS:
        ids = gpt2_tok.encode(text)
        assert gpt2_tok.decode(ids, skip_special=False) == text
    assert gpt2_tok.encode("<|im_start|>") == [1]  # a control token is matched whole
    assert gpt2_tok.decode(gpt2_tok.encode("<|im_end|>x")) == "x"  # and skipped on decode
    assert gpt2_tok.encode("hi", add_bos=True)[0] == 1
    # the SmolLM pre-tokenizer splits digits one by one
    assert len(gpt2_tok.encode("1234")) == 4


def _spm_metadata() -> dict:  # type: ignore[type-arg]
    pieces = ["▁", "h", "e", "l", "o", "w", "r", "d", "▁h", "▁he", "ll", "▁hell", "▁hello", "▁w", "or", "▁wor", "ld",
              "▁world"]  # fmt: skip
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + pieces
    types = [2, 3, 3] + [6] * 256 + [1] * len(pieces)
    scores = [0.0] * 259 + [-float(i) for i in range(len(pieces))][::-1]
    return {"tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": tokens, "tokenizer.ggml.token_type": types,
            "tokenizer.ggml.scores": scores, "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
            "tokenizer.ggml.unknown_token_id": 0}  # fmt: skip


def test_sentencepiece_round_trip_and_byte_fallback():  # type: ignore[no-untyped-def]
    tok = Tokenizer.from_gguf_metadata(_spm_metadata())
    ids = tok.encode("hello world")
    assert ids[0] == 1  # llama-type tokenizers add BOS by default
    assert [tok.token(i) for i in ids[1:]] == ["▁hello", "▁world"]
    for text in ("hello world", "hello wörld ✓", "who"):
        assert tok.decode(tok.encode(text)) == text
    assert any(tok.token(i).startswith("<0x") for i in tok.encode("ö"))  # bytes for unknown characters


def test_bad_tokenizer_metadata():  # type: ignore[no-untyped-def]
    md = metadata(PRESETS["tiny"])
    with pytest.raises(FormatError):
        Tokenizer.from_gguf_metadata({**md, "tokenizer.ggml.model": "rwkv"})
    with pytest.raises(FormatError):
        Tokenizer.from_gguf_metadata({**md, "tokenizer.ggml.token_type": [1, 2]})
    with pytest.raises(FormatError):
        Tokenizer.from_gguf_metadata({**md, "tokenizer.ggml.merges": ["nospace"]})


def test_chat_template(gpt2_tok):  # type: ignore[no-untyped-def]
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    text = gpt2_tok.apply_chat_template(msgs)
    assert text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    assert not gpt2_tok.apply_chat_template(msgs, add_generation_prompt=False).endswith("assistant\n")
    assert gpt2_tok.encode(text)[0] == 1


def test_chat_template_sandbox():  # type: ignore[no-untyped-def]
    msgs = [{"role": "user", "content": "x"}]
    with pytest.raises(TemplateError):  # no reaching into Python internals
        render_chat("{{ messages.__class__.__mro__[1].__subclasses__() }}", msgs)
    with pytest.raises(TemplateError, match="no system"):
        render_chat("{{ raise_exception('no system') }}", msgs)
    with pytest.raises(TemplateError):  # immutable: templates cannot mutate their inputs
        render_chat("{% set _ = messages.append(1) %}", msgs)
    with pytest.raises(TemplateError):
        render_chat("{% for %}", msgs)
    assert render_chat("{{ messages[0] | tojson }}", [{"role": "u", "content": "é"}]) == '{"role": "u", "content": "é"}'
    with pytest.raises(InvalidArgument):
        render_chat("x", ["not a dict"])  # type: ignore[list-item]


def test_real_model_tokenizer(default_model):  # type: ignore[no-untyped-def]
    from boostr.formats import open_gguf

    tok = Tokenizer.from_gguf_metadata(open_gguf(default_model).metadata)
    assert tok.encode("The capital of France is") == [504, 3575, 282, 4649, 314]
    for text in TEXTS:
        assert tok.decode(tok.encode(text), skip_special=False) == text
    text = tok.apply_chat_template([{"role": "user", "content": "Hi"}])
    assert text.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert text.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    assert tok.eos_ids == [2] and not tok.add_bos
