"""Token sampling on the device: penalties, temperature, top-k, top-p, min-p, seeded draws.

Order (HF transformers' logits processors): repetition / presence / frequency penalties,
then temperature, top-k, top-p, min-p, then one draw. Greedy (``temperature == 0``) takes the
argmax after the penalties. Everything runs on the logits' device; the chosen id stays a
device tensor ``[1]`` until the generation loop reads it with ``.item()`` - the one documented
control scalar per step.

- repetition penalty ``r`` (HF / CTRL): for every token seen (prompt and generated), a positive
  logit is divided by ``r``, a negative one multiplied;
- presence ``a`` and frequency ``f`` (OpenAI): ``logit -= a * (count > 0) + f * count``;
- top-k keeps the k largest logits; top-p keeps the smallest prefix of the sorted distribution
  whose mass reaches ``p`` (the top token always stays); min-p keeps tokens with
  ``prob >= min_p * max prob``;
- the draw: ``u ~ U[0, 1)`` from ``boostr.Generator(seed)`` (Philox: the same numbers on every
  backend), the token is the first whose cumulative mass exceeds ``u * total``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import dtype as _dt
from ..errors import InvalidArgument
from ..ops.traits import Generator
from ..tensor import Tensor


@dataclass
class SamplingParams:
    """Sampling options (defaults: greedy, no penalties). ``seed=None`` draws a random seed."""

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        checks = (
            ("temperature", self.temperature >= 0), ("top_k", isinstance(self.top_k, int) and self.top_k >= 0),
            ("top_p", 0 < self.top_p <= 1), ("min_p", 0 <= self.min_p <= 1),
            ("repetition_penalty", self.repetition_penalty > 0),
        )  # fmt: skip
        for name, ok in checks:
            if not ok:
                raise InvalidArgument(name, f"out of range: {getattr(self, name)!r}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    @property
    def penalized(self) -> bool:
        return self.repetition_penalty != 1 or self.presence_penalty != 0 or self.frequency_penalty != 0


class Sampler:
    """Per-generation sampling state: the Philox generator and the token counts for penalties."""

    def __init__(self, params: SamplingParams, client: Any, vocab_size: int) -> None:
        self.params = params
        self.client = client
        self.vocab_size = int(vocab_size)
        seed = params.seed if params.seed is not None else int.from_bytes(os.urandom(8), "little") >> 1
        self.generator = Generator(seed)
        self.counts: Tensor | None = client.zeros(self.vocab_size, dtype=_dt.f32) if params.penalized else None

    def observe_prompt(self, ids: list[int]) -> None:
        """Count the prompt's tokens for the penalties (one upload)."""
        if self.counts is not None and ids:
            hist = np.bincount(np.asarray(ids, dtype=np.int64), minlength=self.vocab_size)[: self.vocab_size]
            self.counts = self.client.add(self.counts, self.client.from_numpy(hist.astype(np.float32), _dt.f32))

    def observe(self, token: Tensor) -> None:
        """Count a sampled token (a device ``[1]`` int tensor; no transfer)."""
        if self.counts is not None:
            c = self.client
            self.counts = c.scatter_add(self.counts, 0, token, c.ones(1, dtype=_dt.f32))

    def penalize(self, logits: Tensor) -> Tensor:
        """``logits [V]`` f32 with the penalties applied."""
        p, c = self.params, self.client
        if self.counts is None:
            return logits
        seen = c.gt(self.counts, 0.0)
        if p.repetition_penalty != 1:
            r = float(p.repetition_penalty)
            logits = c.where(seen, c.where(c.gt(logits, 0.0), c.div(logits, r), c.mul(logits, r)), logits)
        if p.presence_penalty:
            logits = c.sub(logits, c.mul(c.cast(seen, _dt.f32), float(p.presence_penalty)))
        if p.frequency_penalty:
            logits = c.sub(logits, c.mul(self.counts, float(p.frequency_penalty)))
        return logits

    def distribution(self, logits: Tensor) -> tuple[Tensor, Tensor | None]:
        """``(probs [n], ids [n] or None)``: the filtered, unnormalized candidate probabilities after
        temperature, top-k, top-p and min-p (``ids`` None means the candidates are the whole vocab)."""
        p, c = self.params, self.client
        x = c.div(logits, float(p.temperature)) if p.temperature not in (0, 1) else logits
        ids: Tensor | None = None
        if 0 < p.top_k < x.shape[0]:
            x, ids = c.topk(x, p.top_k)
        elif p.top_p < 1:
            x, ids = c.sort(x, descending=True)
        probs = c.softmax(x, -1)
        if p.top_p < 1:
            before = c.sub(c.cumsum(probs, 0), probs)
            probs = c.where(c.lt(before, float(p.top_p)), probs, 0.0)
        if p.min_p > 0:
            probs = c.where(c.ge(probs, c.mul(c.max(probs), float(p.min_p))), probs, 0.0)
        return probs, ids

    def sample(self, logits: Tensor) -> Tensor:
        """One token id as a device ``[1]`` int tensor from ``logits [V]`` or ``[1, V]`` / ``[1, 1, V]``."""
        c = self.client
        lg = logits.reshape(-1)
        if lg.shape[0] != self.vocab_size:
            raise InvalidArgument("logits", f"expected {self.vocab_size} logits, received shape {logits.shape}")
        lg = self.penalize(c.cast(lg, _dt.f32))
        if self.params.greedy:
            tok = c.argmax(lg, 0).reshape(1)
        else:
            probs, ids = self.distribution(lg)
            n = probs.shape[0]
            cdf = c.cumsum(probs, 0)
            u = c.rand(1, generator=self.generator)
            thresh = c.mul(u, cdf.narrow(0, n - 1, 1))
            choice = c.minimum(c.sum(c.le(cdf, thresh)), n - 1).reshape(1)
            tok = choice if ids is None else c.index_select(ids, 0, choice)
        self.observe(tok)
        return tok  # type: ignore[no-any-return]


__all__ = ["Sampler", "SamplingParams"]
