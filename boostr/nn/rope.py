"""RoPE: rotary position embedding with cached cos/sin tables.

Layout: ``x [B, H, S, D]`` at absolute positions ``pos .. pos + S - 1``; tables
``cos/sin [max_pos, D/2]`` f32, grown (doubling) when a longer sequence arrives.
Scaling: every type of ``client.rope_frequencies`` (None/"default", "linear", "llama3",
"yarn", HF ``rope_scaling`` dicts), or explicit per-frequency divisors ``freq_factors``
(GGUF's ``rope_freqs.weight``: ``inv_freq[k] = base^(-2k/D) / freq_factors[k]``).
``interleaved`` rotates adjacent pairs (GGUF "normal" layout), else split halves (HF).
Yarn's attention factor multiplies cos and sin, as in HF transformers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtype as _dt
from ..errors import InvalidArgument
from ..tensor import Tensor
from .module import Module


class RoPE(Module):
    """Rotary embedding for ``head_dim``; ``__call__(x, pos)`` rotates ``x [B, H, S, D]``."""

    def __init__(
        self, client: Any, head_dim: int, base: float = 10000.0, scaling: dict[str, Any] | None = None,
        interleaved: bool = False, freq_factors: Sequence[float] | None = None, initial_len: int = 256,
    ) -> None:  # fmt: skip
        super().__init__()
        if freq_factors is not None and len(freq_factors) != head_dim // 2:
            raise InvalidArgument("freq_factors", f"expected {head_dim // 2} factors, received {len(freq_factors)}")
        if freq_factors is not None and scaling is not None:
            raise InvalidArgument("freq_factors", "give either freq_factors or scaling, not both")
        self.client = client
        self.head_dim = head_dim
        self.base = float(base)
        self.scaling = scaling
        self.interleaved = bool(interleaved)
        self.freq_factors = None if freq_factors is None else [float(f) for f in freq_factors]
        self.attention_factor = 1.0
        self._len = 0
        self._cos: Tensor | None = None
        self._sin: Tensor | None = None
        self._last: tuple[int, int, Tensor, Tensor] | None = None  # (pos, s, cos rows, sin rows): layers share it
        self.ensure(initial_len)

    def ensure(self, n: int) -> None:
        """Make the tables cover positions ``[0, n)`` (rebuilt at the next power of two when short)."""
        if n <= self._len:
            return
        size = max(16, 1 << (max(n, 1) - 1).bit_length())
        c = self.client
        if self.freq_factors is None:
            cos, sin, att = c.rope_frequencies(self.head_dim, size, self.base, self.scaling)
        else:
            half = self.head_dim // 2
            inv = (1.0 / self.base ** (np.arange(half, dtype=np.float64) * 2 / self.head_dim)) / np.asarray(
                self.freq_factors
            )
            ang = np.arange(size, dtype=np.float32)[:, None] * inv.astype(np.float32)[None, :]
            cos, sin, att = c.from_numpy(np.cos(ang), _dt.f32), c.from_numpy(np.sin(ang), _dt.f32), 1.0
        if att != 1.0:
            cos, sin = c.mul(cos, att), c.mul(sin, att)
        self.attention_factor = float(att)
        self._cos, self._sin, self._len, self._last = cos, sin, size, None

    def tables(self, pos: int, s: int) -> tuple[Tensor, Tensor]:
        """cos/sin rows ``[pos, pos + s)`` as ``[s, D/2]`` views (the last pair is reused by every layer)."""
        last = self._last
        if last is not None and last[0] == pos and last[1] == s:
            return last[2], last[3]
        self.ensure(pos + s)
        assert self._cos is not None and self._sin is not None
        cos, sin = self._cos.narrow(0, pos, s), self._sin.narrow(0, pos, s)
        self._last = (pos, s, cos, sin)
        return cos, sin

    def __call__(self, x: Tensor, pos: int | Tensor) -> Tensor:
        """``x [B, H, S, D]`` rotated for positions ``pos .. pos + S - 1``, or for the device
        position ids ``pos [S]`` / ``[B, S]`` (``ensure`` must already cover them: ids past the
        table are clamped by the kernels)."""
        if isinstance(pos, Tensor):
            assert self._cos is not None and self._sin is not None
            return x.client.apply_rope(  # type: ignore[no-any-return]
                x, self._cos, self._sin, interleaved=self.interleaved, position_ids=pos
            )
        cos, sin = self.tables(pos, x.shape[2])
        return x.client.apply_rope(x, cos, sin, interleaved=self.interleaved)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        kind = "freq_factors" if self.freq_factors else (self.scaling or {}).get("rope_type", "default")
        return f"head_dim={self.head_dim}, base={self.base:g}, {kind}, interleaved={self.interleaved}"


__all__ = ["RoPE"]
