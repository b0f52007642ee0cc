"""On-device sampling against a numpy reference: penalties, temperature, top-k, top-p, min-p;
seeded reproducibility; greedy; draws following the distribution."""

from __future__ import annotations

import numpy as np
import pytest

from boostr import InvalidArgument
from boostr.inference import Sampler, SamplingParams

V = 64


def ref_probs(logits: np.ndarray, p: SamplingParams, counts: np.ndarray) -> np.ndarray:
    """The dense distribution the sampler draws from (HF processor order), float64."""
    x = logits.astype(np.float64)
    seen = counts > 0
    if p.repetition_penalty != 1:
        x = np.where(seen, np.where(x > 0, x / p.repetition_penalty, x * p.repetition_penalty), x)
    x = x - p.presence_penalty * seen - p.frequency_penalty * counts
    if p.temperature > 0:
        x = x / p.temperature
    keep = np.ones(V, bool)
    order = np.argsort(-x, kind="stable")
    if p.top_k:
        keep[order[p.top_k :]] = False
    probs = np.where(keep, np.exp(x - x.max()), 0.0)
    probs /= probs.sum()
    if p.top_p < 1:
        sp = probs[order]
        before = np.cumsum(sp) - sp
        drop = order[before >= p.top_p]
        probs[drop] = 0.0
    if p.min_p:
        probs = np.where(probs >= p.min_p * probs.max(), probs, 0.0)
    return probs / probs.sum()


CASES = {
    "temperature": SamplingParams(temperature=0.7),
    "top-k": SamplingParams(temperature=1.0, top_k=5),
    "top-p": SamplingParams(temperature=1.0, top_p=0.6),
    "min-p": SamplingParams(temperature=1.3, min_p=0.2),
    "all-filters": SamplingParams(temperature=0.8, top_k=20, top_p=0.9, min_p=0.05),
    "repetition": SamplingParams(temperature=1.0, repetition_penalty=1.5),
    "presence-frequency": SamplingParams(temperature=1.0, presence_penalty=0.5, frequency_penalty=0.3, top_k=10),
}


def _logits(seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(V) * 2).astype(np.float32)


@pytest.mark.parametrize("case", list(CASES))
def test_distribution_matches_reference(client, case):  # type: ignore[no-untyped-def]
    p = CASES[case]
    s = Sampler(p, client, V)
    history = [3, 3, 7, 10, 41, 41, 41]
    s.observe_prompt(history)
    counts = np.bincount(history, minlength=V).astype(np.float64)
    logits = _logits()
    probs, ids = s.distribution(s.penalize(client.from_numpy(logits)))
    dense = np.zeros(V)
    idx = np.arange(V) if ids is None else ids.numpy().astype(np.int64)
    dense[idx] = probs.numpy()
    dense /= dense.sum()
    want = ref_probs(logits, p, counts)
    np.testing.assert_allclose(dense, want, atol=2e-6)
    assert (dense > 0).sum() == (want > 0).sum()


def test_greedy_and_repetition_penalty(client):  # type: ignore[no-untyped-def]
    logits = _logits(1)
    top2 = np.argsort(-logits)[:2]
    assert Sampler(SamplingParams(), client, V).sample(client.from_numpy(logits)).item() == top2[0]
    s = Sampler(SamplingParams(repetition_penalty=100.0), client, V)
    s.observe_prompt([int(top2[0])])
    tok = s.sample(client.from_numpy(logits))
    assert tok.item() == top2[1] and tok.shape == (1,)
    assert s.counts is not None and s.counts.numpy()[top2[1]] == 1  # the sampled token is counted


def test_seeded_reproducible(client):  # type: ignore[no-untyped-def]
    logits = client.from_numpy(_logits(2) * 0.3)

    def draws(seed: int) -> list[int]:
        s = Sampler(SamplingParams(temperature=1.0, top_p=0.95, seed=seed), client, V)
        return [int(s.sample(logits).item()) for _ in range(12)]

    a = draws(7)
    assert a == draws(7)
    assert a != draws(8)
    assert len(set(a)) > 2


def test_draws_follow_distribution(client):  # type: ignore[no-untyped-def]
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05] + [1e-9] * (V - 4), np.float32))
    s = Sampler(SamplingParams(temperature=1.0, seed=3), client, V)
    lt = client.from_numpy(logits)
    n = 400
    freq = np.bincount([int(s.sample(lt).item()) for _ in range(n)], minlength=V) / n
    np.testing.assert_allclose(freq[:4], [0.5, 0.3, 0.15, 0.05], atol=0.08)
    assert freq[4:].sum() == 0


def test_bad_params():  # type: ignore[no-untyped-def]
    for kw in ({"temperature": -1}, {"top_p": 0}, {"top_p": 1.5}, {"min_p": 2}, {"top_k": -1},
               {"repetition_penalty": 0}):  # fmt: skip
        with pytest.raises(InvalidArgument):
            SamplingParams(**kw)
