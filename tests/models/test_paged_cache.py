"""The LLaMA model over ``nn.PagedKVCache`` (device-side positions: what a captured CUDA graph of a
decode step replays) against the float64 reference and the contiguous cache; and the CUDA graph
decoder against eager decoding where CUDA is present."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_cases import SYNTHETIC

from boostr import InvalidArgument
from boostr.models import load_model
from boostr.testing import nmse
from boostr.testing.llama_ref import gguf_reference_weights, reference_logits

IDS = [5, 100, 7, 300, 42, 11, 9, 250, 3, 77, 18]


def _ids(client, ids):  # type: ignore[no-untyped-def]
    return client.from_numpy(np.asarray([ids]), client.default_int)


@pytest.mark.parametrize("name", ["q8_0-tied", "q4_1-mqa", "yarn"])
def test_paged_steps_match_reference(client, synthetic, name):  # type: ignore[no-untyped-def]
    """Prefill 5 tokens then one per call through the paged cache (blocks of 4: steps cross
    block boundaries): every position's logits match the full float64 reference."""
    assert SYNTHETIC[name]
    path = synthetic[name]
    weights, cfg, freq = gguf_reference_weights(path)
    ref = reference_logits(weights, cfg, IDS, freq)
    model = load_model(path, backend=client, progress=False)
    cache = model.new_cache(len(IDS) + 2, paged=True)
    small = type(cache)(client, cfg.num_layers, 1, cfg.num_kv_heads, len(IDS) + 2, cfg.head_dim, block_size=4)
    for c in (cache, small):
        outs = [model(_ids(client, IDS[:5]), c).numpy()[0]]
        for t in IDS[5:]:
            outs.append(model(_ids(client, [t]), c).numpy()[0])
        assert c.length == len(IDS)
        assert nmse(np.concatenate(outs), ref) < 1e-9, f"{name} block {c.block_size} on {client.device_name}"


def test_paged_cache_refusals(client, synthetic):  # type: ignore[no-untyped-def]
    model = load_model(synthetic["linear-window"], backend=client, progress=False)
    cache = model.new_cache(8, paged=True)
    with pytest.raises(InvalidArgument, match="sliding-window"):
        model(_ids(client, [1, 2]), cache)
    model = load_model(synthetic["f32-tied-gqa"], backend=client, progress=False)
    cache = model.new_cache(3, paged=True)
    model(_ids(client, [1, 2]), cache)
    with pytest.raises(InvalidArgument, match="max_len"):
        model(_ids(client, [3, 4]), cache)
    with pytest.raises(InvalidArgument, match="block_size"):
        type(cache)(client, 1, 1, 1, 4, 32, block_size=0)


def test_cuda_graph_decode_matches_eager(client, synthetic):  # type: ignore[no-untyped-def]
    """Greedy tokens from replaying one captured CUDA graph equal eager greedy decoding."""
    if client.kind != "cuda":
        pytest.skip("CUDA graphs need the CUDA backend")
    from boostr.inference import generate

    model = load_model(synthetic["q4_k-untied-gqa"], backend=client, progress=False)
    eager = generate(model, IDS[:4], max_tokens=12, ignore_eos=True, cuda_graph=False)
    graphed = generate(model, IDS[:4], max_tokens=12, ignore_eos=True, cuda_graph=True)
    assert graphed.tokens == eager.tokens and len(graphed.tokens) == 12


def test_cuda_graph_refused_where_impossible(client, synthetic):  # type: ignore[no-untyped-def]
    from boostr.inference import SamplingParams, generate

    model = load_model(synthetic["f32-tied-gqa"], backend=client, progress=False)
    if client.kind != "cuda":
        with pytest.raises(InvalidArgument, match="cuda_graph"):
            generate(model, IDS[:3], max_tokens=2, cuda_graph=True)
    with pytest.raises(InvalidArgument, match="cuda_graph"):
        generate(model, IDS[:3], max_tokens=2, cuda_graph=True, params=SamplingParams(temperature=0.7, seed=1))
