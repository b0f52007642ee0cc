"""The generation loop: prefill, then one token per step with a KV cache, streamed as text.

``generate(model, prompt, max_tokens=..., params=SamplingParams(), stop=(), on_text=None)``:
the prompt (text or token ids) is prefilled in one call (logits of its last position only),
then each step feeds the sampled token back as a device tensor, so the only transfer per step
is reading the chosen id (``.item()``: the one control scalar). It stops at an EOS token, at a
stop string (cut from the text) or after ``max_tokens``. ``on_text(delta)`` receives the text as
it becomes final: pieces of an incomplete UTF-8 character or of a possible stop string are
held back until decided.

Timings: ``prompt_seconds`` covers the prefill and the first sampled token; ``decode_seconds``
the decode steps (forward, sampling and reading the id; detokenizing and the callback excluded).
``weight_gbps`` is the weight traffic those decode rates imply (``model.decode_bytes() * decode
tokens/s``).

On the CPU the generation runs with OpenBLAS (numpy's and scipy's) limited to one thread and
restored afterwards (``ops/cpu/blas_threads.py``: BLAS threads spin on the cores numba's threads
use; a 128-token prefill ran 3x faster on 2 cores), so numpy outside ``generate`` keeps its threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidArgument
from .sampling import Sampler, SamplingParams


@dataclass
class GenerationResult:
    """What ``generate`` produced and how fast."""

    text: str
    tokens: list[int]
    prompt_tokens: int
    finish_reason: str  # "eos" | "stop" | "length"
    prompt_seconds: float
    decode_seconds: float
    weight_bytes: int
    step_seconds: list[float] = field(default_factory=list)

    @property
    def prompt_tps(self) -> float:
        return self.prompt_tokens / self.prompt_seconds if self.prompt_seconds > 0 else 0.0

    @property
    def decode_tokens(self) -> int:
        """Tokens produced by decode steps (the first token comes from the prefill)."""
        return len(self.step_seconds)

    @property
    def decode_tps(self) -> float:
        return self.decode_tokens / self.decode_seconds if self.decode_seconds > 0 else 0.0

    @property
    def weight_gbps(self) -> float:
        return self.weight_bytes * self.decode_tps / 1e9

    def summary(self) -> str:
        return (
            f"prompt: {self.prompt_tokens} tokens, {self.prompt_tps:.1f} tok/s | "
            f"decode: {self.decode_tokens} tokens, {self.decode_tps:.1f} tok/s | "
            f"weights {self.weight_bytes / 1e6:.1f} MB/token -> {self.weight_gbps:.2f} GB/s | {self.finish_reason}"
        )


class _Detok:
    """Incremental detokenization with hold-back for partial characters and stop strings."""

    def __init__(self, tokenizer: Any, context: list[int], stop: Sequence[str]) -> None:
        self.tok = tokenizer
        self.ctx = context[-1:]
        self.ctx_text = tokenizer.decode(self.ctx) if self.ctx else ""
        self.stop = [s for s in stop if s]
        self.emitted = 0
        self.text = ""

    def update(self, generated: list[int]) -> tuple[str, bool]:
        """New final text after ``generated`` and whether a stop string ended it."""
        full = self.tok.decode(self.ctx + generated)
        text = full[len(self.ctx_text) :] if full.startswith(self.ctx_text) else self.tok.decode(generated)
        hits = [text.find(s) for s in self.stop if s in text]
        if hits:
            self.text = text[: min(hits)]
            return self._emit(len(self.text)), True
        self.text = text
        safe = len(text.rstrip("\ufffd"))
        for s in self.stop:
            for n in range(min(len(s) - 1, safe), 0, -1):
                if text[:safe].endswith(s[:n]):
                    safe = min(safe, len(text[:safe]) - n)
                    break
        return self._emit(safe), False

    def _emit(self, upto: int) -> str:
        if upto <= self.emitted:
            return ""
        out = self.text[self.emitted : upto]
        self.emitted = upto
        return out

    def flush(self) -> str:
        return self._emit(len(self.text))


@contextmanager
def _kernel_threads(client: Any) -> Iterator[None]:
    """CPU: single-threaded OpenBLAS for the scope (see the module doc)."""
    if client.kind != "cpu":
        yield
        return
    from ..ops.cpu.blas_threads import blas_threads

    with blas_threads(1):
        yield


def generate(
    model: Any, prompt: str | Sequence[int], max_tokens: int = 128, params: SamplingParams | None = None,
    stop: Sequence[str] = (), on_text: Callable[[str], None] | None = None, tokenizer: Any = None,
    cache_dtype: Any = "f32", add_bos: bool | None = None, ignore_eos: bool = False,
    cuda_graph: bool | None = None,
) -> GenerationResult:  # fmt: skip
    """Generate up to ``max_tokens`` tokens after ``prompt`` (see the module doc); ``ignore_eos``
    keeps going past EOS tokens (benchmarks). ``cuda_graph`` (default: where possible) replays
    greedy CUDA decode steps from one captured graph (``boostr.inference.cuda_graph``); True
    where it is not possible (not CUDA, sampling or penalties, a sliding window) is an error."""
    tok = tokenizer if tokenizer is not None else model.tokenizer
    if isinstance(prompt, str):
        if tok is None:
            raise InvalidArgument("tokenizer", "a text prompt needs a tokenizer (the model file carries none)")
        ids = tok.encode(prompt, add_bos=add_bos)
    else:
        ids = [int(i) for i in prompt]
    if not ids:
        raise InvalidArgument("prompt", "the prompt encodes to no tokens")
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise InvalidArgument("max_tokens", f"expected an int >= 1, received {max_tokens!r}")
    params = params or SamplingParams()
    c = model.client
    vocab = model.config.vocab_size
    eos = set() if ignore_eos else set(model.config.eos_token_ids) | set(getattr(tok, "eos_ids", []) or [])
    graph_ok = c.kind == "cuda" and params.greedy and not params.penalized and not model.config.sliding_window
    if cuda_graph and not graph_ok:
        raise InvalidArgument(
            "cuda_graph", "CUDA graph decoding needs the CUDA backend, greedy sampling without penalties and no "
            "sliding window"
        )  # fmt: skip
    use_graph = graph_ok if cuda_graph is None else bool(cuda_graph)
    cache = model.new_cache(len(ids) + max_tokens, dtype=cache_dtype, paged=use_graph)
    decoder = None
    if use_graph:
        from .cuda_graph import CudaGraphDecoder

        decoder = CudaGraphDecoder(model, cache)
    sampler = Sampler(params, c, vocab)
    sampler.observe_prompt(ids)
    detok = _Detok(tok, ids, stop) if tok is not None else None
    x = c.from_numpy(np.asarray([ids], dtype=np.int64), c.default_int)
    with _kernel_threads(c):
        t0 = time.perf_counter()
        token = sampler.sample(model(x, cache, last_only=True))
        tid = int(token.item())
        t1 = time.perf_counter()
        generated: list[int] = []
        steps: list[float] = []
        finish = "length"
        while True:
            if tid in eos:
                finish = "eos"
                break
            generated.append(tid)
            if detok is not None:
                delta, stopped = detok.update(generated)
                if delta and on_text is not None:
                    on_text(delta)
                if stopped:
                    finish = "stop"
                    break
            if len(generated) >= max_tokens:
                break
            ts = time.perf_counter()
            if decoder is not None:
                tid = decoder.step(tid)
            else:
                token = sampler.sample(model(token.reshape(1, 1), cache))
                tid = int(token.item())
            steps.append(time.perf_counter() - ts)
    if detok is not None and finish != "stop":
        rest = detok.flush()
        if rest and on_text is not None:
            on_text(rest)
    text = detok.text if detok is not None else ""
    return GenerationResult(
        text=text, tokens=generated, prompt_tokens=len(ids), finish_reason=finish, prompt_seconds=t1 - t0,
        decode_seconds=sum(steps), weight_bytes=model.decode_bytes(), step_seconds=steps,
    )  # fmt: skip


__all__ = ["GenerationResult", "generate"]
