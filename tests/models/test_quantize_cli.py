"""``boostr quantize``: GGUF and safetensors inputs rewritten as GGUF of one type, checked against the
synthetic generator (same floats quantized directly: same bytes), boostr's loader, gguf-py's reader,
greedy generation, the fallback/head/keep rules, requantization, and malformed input (exit 2)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from gguf import GGUFReader

from boostr.cli import main
from boostr.formats import open_gguf
from boostr.inference import generate
from boostr.models import load_model, save_hf
from boostr.quant import QuantTensor
from boostr.quant.convert import FALLBACK, plan_tensor, supported_types
from boostr.testing import nmse
from boostr.testing.synthetic import CHATML_TEMPLATE, spec_with, write_synthetic_gguf

# K = 256 for q/k/v/o/gate/up and the embedding (Q4_K blocks fit), K = 288 for ffn_down (they do not)
SPEC = spec_with("tiny", hidden_size=256, intermediate_size=288)
IDS = [3, 17, 250, 99, 4, 8]


@pytest.fixture(scope="module")
def f32_gguf(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_synthetic_gguf(tmp_path_factory.mktemp("q") / "f32.gguf", SPEC, quant="F32", seed=1)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["quantize", *argv, "--no-progress"])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _types(path: str) -> dict[str, str]:
    f = open_gguf(path)
    return {n: f.type_name(n) for n in f.names}


def _logits(path: str, **kw: object) -> np.ndarray:
    m = load_model(path, backend="cpu", progress=False, **kw)  # type: ignore[arg-type]
    return np.asarray(m(m.client.from_numpy(np.asarray([IDS]))).numpy())


def _greedy(path: str, **kw: object) -> list[int]:
    m = load_model(path, backend="cpu", progress=False, **kw)  # type: ignore[arg-type]
    return list(generate(m, IDS, max_tokens=8, ignore_eos=True).tokens)


def test_q4k_from_f32_gguf(tmp_path, capsys, f32_gguf):  # type: ignore[no-untyped-def]
    """F32 GGUF -> Q4_K: the rules, byte-identical to quantizing the same floats directly, metadata
    carried with its value types, readable by gguf-py, greedy tokens of the dequantized model."""
    out = str(tmp_path / "q4k.gguf")
    rc, stdout, stderr = _run(capsys, f32_gguf, out, "--type", "q4_k")
    assert rc == 0, stderr
    assert "12 Q4_K" in stdout and "2 Q5_0" in stdout and "1 Q6_K" in stdout and "bits per weight" in stdout
    assert "blk.0.ffn_down.weight (K=288) -> Q5_0" in stderr
    types = _types(out)
    assert types["token_embd.weight"] == "Q6_K"  # tied embedding = head: Q6_K by default
    assert types["blk.1.attn_q.weight"] == "Q4_K" and types["blk.1.ffn_down.weight"] == "Q5_0"
    assert types["blk.0.attn_norm.weight"] == "F32" and types["output_norm.weight"] == "F32"
    # the synthetic generator quantizes the same floats (same seed) with the same CPU kernels
    ref = write_synthetic_gguf(tmp_path / "ref.gguf", SPEC, quant="Q4_K", seed=1, embed_quant="Q6_K")
    fr, fo = open_gguf(ref), open_gguf(out)
    for n in fr.names:
        want = "Q5_0" if n.endswith("ffn_down.weight") else fr.type_name(n)  # generator falls back to Q8_0
        assert fo.type_name(n) == want, n
        if want == fr.type_name(n):
            assert np.array_equal(fo.host_array(n), fr.host_array(n)), n
    src, got = GGUFReader(f32_gguf), GGUFReader(out)
    for key, fld in src.fields.items():
        if key.startswith(("llama.", "tokenizer.")) or key == "general.name":
            assert got.fields[key].types == fld.types and got.fields[key].contents() == fld.contents(), key
    assert got.fields["general.file_type"].contents() == 14  # MOSTLY_Q4_K_S
    assert got.fields["general.quantization_version"].contents() == 2
    assert [t.name for t in got.tensors] == [t.name for t in src.tensors]
    m = load_model(out, backend="cpu", progress=False)
    assert m.tokenizer is not None and m.tokenizer.chat_template == CHATML_TEMPLATE
    assert _greedy(out, dequantize="never") == _greedy(out, dequantize="always")
    assert nmse(_logits(out), _logits(f32_gguf)) < 0.1  # 4.5-bit random weights; a wrong layout gives ~1


def test_q8_0_keeps_greedy_tokens(tmp_path, capsys, f32_gguf):  # type: ignore[no-untyped-def]
    out = str(tmp_path / "q8.gguf")
    rc, _, _ = _run(capsys, f32_gguf, out, "--type", "Q8_0")
    assert rc == 0
    assert set(_types(out).values()) == {"Q8_0", "F32"}  # Q8_0 has more bits than Q6_K: the head stays Q8_0
    assert nmse(_logits(out), _logits(f32_gguf)) < 1e-3
    assert _greedy(out) == _greedy(f32_gguf)


def test_keep_output_type_and_float_types(tmp_path, capsys, f32_gguf):  # type: ignore[no-untyped-def]
    out = str(tmp_path / "k.gguf")
    rc, _, stderr = _run(capsys, f32_gguf, out, "--type", "Q4_0", "--output-type", "F16", "--keep", "blk.0.*")
    assert rc == 0, stderr
    types = _types(out)
    assert {t for n, t in types.items() if n.startswith("blk.0.")} == {"F32"}
    assert types["token_embd.weight"] == "F16" and types["blk.1.ffn_down.weight"] == "Q4_0"
    rc, _, _ = _run(capsys, f32_gguf, str(tmp_path / "bf.gguf"), "--type", "BF16")
    assert rc == 0 and set(_types(str(tmp_path / "bf.gguf")).values()) == {"BF16", "F32"}
    assert nmse(_logits(str(tmp_path / "bf.gguf")), _logits(f32_gguf)) < 1e-3


def test_quantized_input_is_copied_or_requantized(tmp_path, capsys):  # type: ignore[no-untyped-def]
    src = write_synthetic_gguf(tmp_path / "q41.gguf", SPEC, quant="Q4_1", seed=2)
    same = str(tmp_path / "same.gguf")
    rc, _, stderr = _run(capsys, src, same, "--type", "Q4_1", "--output-type", "Q4_1")
    assert rc == 0 and "requantiz" not in stderr
    fs, fo = open_gguf(src), open_gguf(same)
    for n in fs.names:  # blocks of the requested type are copied as they are
        assert fo.type_name(n) == fs.type_name(n) and np.array_equal(fo.host_array(n), fs.host_array(n)), n
    req = str(tmp_path / "req.gguf")
    rc, _, stderr = _run(capsys, src, req, "--type", "Q4_K")
    assert rc == 0 and "requantizing already-quantized tensors (" in stderr
    from boostr.runtime.registry import get_client

    cpu = get_client("cpu")
    name = "blk.0.attn_q.weight"
    deq = QuantTensor.from_raw(fs.host_array(name), "Q4_1", fs.shape(name), backend=cpu).dequantize()
    assert np.array_equal(open_gguf(req).host_array(name).reshape(-1), cpu.quantize(deq, "Q4_K").raw())


@pytest.mark.parametrize("where", ["dir", "index", "file"])
def test_safetensors_input(tmp_path, capsys, f32_gguf, where):  # type: ignore[no-untyped-def]
    """HF checkpoint (split-half q/k, tokenizer.json) -> the same GGUF bytes as from the GGUF itself."""
    m = load_model(f32_gguf, backend="cpu", progress=False)
    hf = tmp_path / "hf"
    save_hf(m, hf, max_shard_bytes=(1 << 20) if where != "file" else 1 << 30)
    m.tokenizer.hf.save(str(hf / "tokenizer.json"))
    tc = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "add_bos_token": False,
          "chat_template": CHATML_TEMPLATE}  # fmt: skip
    (hf / "tokenizer_config.json").write_text(json.dumps(tc), encoding="utf-8")
    shards = sorted(hf.glob("*.safetensors"))
    arg = {"dir": hf, "index": hf / "model.safetensors.index.json", "file": shards[0]}[where]
    assert (len(shards) > 1) == (where != "file")
    out, ref = str(tmp_path / "hf.gguf"), str(tmp_path / "ref.gguf")
    assert _run(capsys, str(arg), out, "--type", "Q8_0")[0] == 0
    assert _run(capsys, f32_gguf, ref, "--type", "Q8_0")[0] == 0
    fo, fr = open_gguf(out), open_gguf(ref)
    assert sorted(fo.names) == sorted(fr.names)
    for n in fr.names:
        assert fo.type_name(n) == fr.type_name(n) and np.array_equal(fo.host_array(n), fr.host_array(n)), n
    got = load_model(out, backend="cpu", progress=False)
    text = "<|im_start|>The capital of France is Paris. 1234"
    assert got.tokenizer.encode(text) == m.tokenizer.encode(text)
    assert got.tokenizer.bos_id == m.tokenizer.bos_id and got.tokenizer.eos_ids == m.tokenizer.eos_ids
    assert got.tokenizer.chat_template == CHATML_TEMPLATE
    assert fo.metadata["tokenizer.ggml.pre"] == "smollm"
    assert _greedy(out) == _greedy(ref)


def test_rules_and_types() -> None:
    assert "Q4_K" in supported_types() and "F16" in supported_types() and "Q8_K" not in supported_types()
    assert plan_tensor("blk.0.ffn_down.weight", (8, 48), "F32", "Q4_K", ()).out_type == "F16"  # 48 % 32 != 0
    assert plan_tensor("blk.0.ffn_down.weight", (8, 64), "F32", "Q6_K", ()).out_type == FALLBACK["Q6_K"]
    assert plan_tensor("blk.0.attn_norm.weight", (256,), "F16", "Q4_K", ()).out_type == "F32"
    assert plan_tensor("output.weight", (8, 256), "Q4_K", "Q4_K", ()).note == "copied"


def test_bad_arguments_and_inputs(tmp_path, capsys, f32_gguf):  # type: ignore[no-untyped-def]
    out = str(tmp_path / "o.gguf")
    rc, _, err = _run(capsys, f32_gguf, out, "--type", "Q9_9")
    assert rc == 2 and "'--type'" in err and "supported: F32, F16, BF16" in err and "Q4_K" in err
    rc, _, err = _run(capsys, f32_gguf, out, "--type", "Q8_K")
    assert rc == 2 and "activation-only" in err
    rc, _, err = _run(capsys, f32_gguf, out, "--output-type", "nope")
    assert rc == 2 and "'--output-type'" in err
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"NOPE" + bytes(60))
    rc, _, err = _run(capsys, str(bad), out)
    assert rc == 2 and "unknown model format" in err and "Traceback" not in err
    trunc = tmp_path / "trunc.gguf"
    trunc.write_bytes(open(f32_gguf, "rb").read()[:5000])
    rc, _, err = _run(capsys, str(trunc), out)
    assert rc == 2 and err.startswith("boostr quantize: ") and "Traceback" not in err
    rc, _, err = _run(capsys, str(tmp_path / "missing.gguf"), out)
    assert rc == 2 and "does not exist" in err
    copy = tmp_path / "copy.gguf"
    shutil.copy(f32_gguf, copy)
    rc, _, err = _run(capsys, str(copy), str(copy))
    assert rc == 2 and "is the input file" in err
    nocfg = tmp_path / "nocfg"
    nocfg.mkdir()
    rc, _, err = _run(capsys, str(nocfg), out)
    assert rc == 2 and "config.json" in err
    assert not (tmp_path / "o.gguf").exists()


def test_default_model_round_trip(tmp_path, capsys, default_model):  # type: ignore[no-untyped-def]
    """SmolLM2 Q4_1: with its own types kept, every tensor is copied and the text is unchanged."""
    out = str(tmp_path / "smol.gguf")
    rc, _, err = _run(capsys, default_model, out, "--type", "Q4_1", "--output-type", "Q8_0")
    assert rc == 0 and "requantiz" not in err
    fs, fo = open_gguf(default_model), open_gguf(out)  # parsed once, then reused by load_model
    for key, value in fs.metadata.items():
        if key not in ("general.file_type", "general.quantization_version"):
            assert fo.metadata[key] == value, key
    assert fo.metadata["general.file_type"] == 3  # MOSTLY_Q4_1
    assert fo.names == fs.names
    for n in fs.names:
        assert fo.type_name(n) == fs.type_name(n) and np.array_equal(fo.host_array(n), fs.host_array(n)), n
    assert np.array_equal(_logits(out), _logits(default_model))


def test_sentencepiece_tokenizer_json_round_trip(tmp_path):  # type: ignore[no-untyped-def]
    """A LLaMA-2-style tokenizer (BPE with byte fallback) survives tokenizer.json -> GGUF metadata."""
    from boostr.formats.hf_tokenizer import hf_tokenizer_metadata
    from boostr.inference.tokenizer import Tokenizer

    pieces = ["▁", "a", "b", "c", "▁a", "ab", "▁ab", "abc", "▁abc", "c▁"]
    tokens = ["<unk>", "<s>", "</s>", *[f"<0x{i:02X}>" for i in range(256)], *pieces]
    scores = [0.0] * 259 + [0.0, 0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0]
    md = {"tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": tokens, "tokenizer.ggml.scores": scores,
          "tokenizer.ggml.token_type": [2, 3, 3] + [6] * 256 + [1] * len(pieces),
          "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2}  # fmt: skip
    want = Tokenizer.from_gguf_metadata(md)
    want.hf.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>"}))
    got_md, _ = hf_tokenizer_metadata(tmp_path, len(tokens))
    assert got_md["tokenizer.ggml.model"] == "llama" and got_md["tokenizer.ggml.tokens"] == tokens
    assert got_md["tokenizer.ggml.token_type"][3] == 6 and got_md["tokenizer.ggml.add_space_prefix"] is True
    got = Tokenizer.from_gguf_metadata(got_md)
    for text in ("abc ab a", "c abc\n€", "ab"):
        assert got.encode(text) == want.encode(text), text
    assert (got.bos_id, got.eos_ids) == (1, [2])
