"""LLaMA logits on every backend against the float64 numpy reference, on synthetic GGUF models
(float and quantized weights, GQA/MQA/MHA, tied and untied heads, each rope scaling type), and
KV-cache generation against recomputing the whole sequence."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_cases import SYNTHETIC

from boostr.models import load_model
from boostr.testing import nmse
from boostr.testing.llama_ref import gguf_reference_weights, reference_logits

IDS = [5, 100, 7, 300, 42, 11, 9, 250, 3]
NMSE_MAX = {"F32": 1e-9, "F16": 1e-9, "Q8_0": 1e-9, "Q4_K": 1e-9, "Q4_1": 1e-9}


def _ids(client, ids):  # type: ignore[no-untyped-def]
    return client.from_numpy(np.asarray([ids]), client.default_int)


@pytest.mark.parametrize("name", list(SYNTHETIC))
def test_logits_match_reference(client, synthetic, name):  # type: ignore[no-untyped-def]
    path = synthetic[name]
    weights, cfg, freq = gguf_reference_weights(path)
    ref = reference_logits(weights, cfg, IDS, freq)
    model = load_model(path, backend=client, progress=False)
    assert model.tied == ("untied" not in name)
    out = model(_ids(client, IDS)).numpy()[0]
    assert out.shape == ref.shape
    err = nmse(out, ref)
    assert err < NMSE_MAX[SYNTHETIC[name][1]], f"{name} on {client.device_name}: NMSE {err:.3g}"
    last = model(_ids(client, IDS), last_only=True).numpy()[0]
    assert last.shape == (1, cfg.vocab_size)
    np.testing.assert_allclose(last[0], out[-1], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["q8_0-tied", "linear-window", "yarn"])
def test_kv_cache_steps_match_reference(client, synthetic, name):  # type: ignore[no-untyped-def]
    """Prefill 4 tokens, then one token per call: every position's logits match the full reference."""
    path = synthetic[name]
    weights, cfg, freq = gguf_reference_weights(path)
    ref = reference_logits(weights, cfg, IDS, freq)
    model = load_model(path, backend=client, progress=False)
    cache = model.new_cache(len(IDS))
    outs = [model(_ids(client, IDS[:4]), cache).numpy()[0]]
    for t in IDS[4:]:
        outs.append(model(_ids(client, [t]), cache).numpy()[0])
    assert cache.length == len(IDS)
    assert nmse(np.concatenate(outs), ref) < 1e-9


def test_cached_generation_equals_recompute(client, synthetic):  # type: ignore[no-untyped-def]
    """Greedy tokens with the KV cache equal greedy tokens from recomputing the sequence each step."""
    from boostr.inference import generate

    model = load_model(synthetic["q4_1-mqa"], backend=client, progress=False)
    res = generate(model, IDS[:3], max_tokens=8)
    seq = list(IDS[:3])
    for _ in range(len(res.tokens)):
        logits = model(_ids(client, seq)).numpy()[0, -1]
        seq.append(int(np.argmax(logits)))
    assert res.tokens == seq[3:]
    assert len(res.tokens) == 8 and res.finish_reason == "length"


def test_cache_overflow_and_bad_ids(client, synthetic):  # type: ignore[no-untyped-def]
    from boostr import InvalidArgument

    model = load_model(synthetic["f32-tied-gqa"], backend=client, progress=False)
    cache = model.new_cache(4)
    model(_ids(client, [1, 2, 3]), cache)
    with pytest.raises(InvalidArgument):
        model(_ids(client, [4, 5]), cache)
    with pytest.raises(InvalidArgument):
        model(client.from_numpy(np.zeros((1, 2), np.float32)))


@pytest.mark.parametrize("name", ["linear-window", "llama3", "yarn"])
def test_rope_scaling_changes_the_reference(synthetic, name):  # type: ignore[no-untyped-def]
    """Control: the scaling (and window) under test moves the logits far beyond the tolerance above."""
    import dataclasses

    weights, cfg, freq = gguf_reference_weights(synthetic[name])
    plain = dataclasses.replace(cfg, rope_scaling=None, sliding_window=0)
    assert nmse(reference_logits(weights, plain, IDS), reference_logits(weights, cfg, IDS, freq)) > 1e-6
