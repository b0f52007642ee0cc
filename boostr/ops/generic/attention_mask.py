"""The attention mask, stated once for every attention op (generic composites and fused kernels).

FlashAttention-2's bottom-right alignment: with ``L`` valid keys (``kv_seq_len``,
default ``Sk``) query ``i`` of ``Sq`` sits at position ``p_i = i + L - Sq``. Key
``j`` is visible iff ``j < L`` and, when causal, ``j <= p_i`` and, with a
sliding window ``w > 0``, ``p_i - w < j <= p_i`` (a window implies causal). Rows
with no visible key produce output 0 and log-sum-exp ``-inf``.

ALiBi (``alibi_slopes`` given, FlashAttention-2's convention): the scaled score of query
``i`` and key ``j`` in head ``h`` gets ``-slope_h * |p_i - j|`` added before the softmax,
with the same bottom-right aligned ``p_i`` (so ``bias = -slope_h * (p_i - j)`` on visible
causal keys).
"""

from __future__ import annotations

from dataclasses import dataclass

from ... import dtype as _dt
from ...tensor import Tensor


@dataclass(frozen=True)
class AttnSpec:
    """Validated attention options: causal flag, window (0 = none), valid key count, softmax scale."""

    causal: bool
    window: int
    kv_len: int
    scale: float

    @property
    def limited(self) -> bool:
        """True when keys past a query's position are hidden (causal or windowed)."""
        return self.causal or self.window > 0

    def key_range(self, i0: int, i1: int, sq: int) -> tuple[int, int]:
        """``[jlo, jhi)``: the keys visible to at least one query of rows ``[i0, i1)`` (may be empty)."""
        off = self.kv_len - sq
        jhi = min(self.kv_len, i1 - 1 + off + 1) if self.limited else self.kv_len
        jlo = max(0, i0 + off - self.window + 1) if self.window > 0 else 0
        return jlo, max(jlo, jhi)

    def needs_mask(self, i0: int, i1: int, j0: int, j1: int, sq: int) -> bool:
        """Whether some key of ``[j0, j1)`` is hidden from some query of ``[i0, i1)`` (keys < kv_len)."""
        if not self.limited:
            return False
        off = self.kv_len - sq
        if j1 - 1 > i0 + off:
            return True
        return self.window > 0 and j0 <= i1 - 1 + off - self.window


def visible_block(c, spec: AttnSpec, i0: int, i1: int, j0: int, j1: int, sq: int) -> Tensor:  # type: ignore[no-untyped-def]
    """Bool ``[i1 - i0, j1 - j0]``: True where query ``i`` sees key ``j`` (built from arange)."""
    off = spec.kv_len - sq
    qpos = c.arange(i0 + off, i1 + off).reshape(i1 - i0, 1)
    kpos = c.arange(j0, j1).reshape(1, j1 - j0)
    diff = c.sub(qpos, kpos)  # p_i - j
    vis = c.ge(diff, 0)
    if spec.window > 0:
        vis = c.logical_and(vis, c.lt(diff, spec.window))
    return vis


def work_dtype(dt: _dt.DType) -> _dt.DType:
    """Accumulation dtype of the attention composites: f64 stays f64, everything else f32."""
    return _dt.f64 if dt is _dt.f64 else _dt.f32


def alibi_block(c, slopes: Tensor, spec: AttnSpec, i0: int, i1: int, j0: int, j1: int, sq: int) -> Tensor:  # type: ignore[no-untyped-def]
    """``[Hkv, G, i1 - i0, j1 - j0]`` (slopes' dtype): ``-slope_h * |p_i - j|`` for ``slopes [Hkv, G, 1, 1]``."""
    off = spec.kv_len - sq
    qpos = c.arange(i0 + off, i1 + off, dtype=slopes.dtype).reshape(i1 - i0, 1)
    kpos = c.arange(j0, j1, dtype=slopes.dtype).reshape(1, j1 - j0)
    return c.mul(c.neg(slopes), c.abs(c.sub(qpos, kpos)))
