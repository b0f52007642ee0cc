"""Position encodings: RoPE forward/backward, RoPE frequency tables (none/linear/llama3/yarn), ALiBi.

Backends override ``_apply_rope`` with a fused kernel; the default is the generic composite
of ``boostr/ops/generic/rope.py``. Table builders (``rope_frequencies``, ``alibi_*``) compose
primitives on every backend.
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...errors import InvalidArgument
from ...tensor import Tensor
from ..generic import rope as _gen
from ._base import TraitBase

ROPE_TYPES = ("default", "linear", "llama3", "yarn")


def _scaling(scaling: dict[str, Any] | None) -> dict[str, Any] | None:
    if scaling is None:
        return None
    if not isinstance(scaling, dict):
        raise InvalidArgument("scaling", f"expected None or a dict like HF rope_scaling, received {scaling!r}")
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind not in ROPE_TYPES:
        raise InvalidArgument("scaling", f"unknown rope type {kind!r}; expected one of {ROPE_TYPES}")
    out = dict(scaling, rope_type=kind)
    if kind != "default":
        f = out.get("factor")
        if not isinstance(f, (int, float)) or isinstance(f, bool) or f <= 0:
            raise InvalidArgument("scaling", f"{kind} scaling needs a positive 'factor', received {f!r}")
    if kind == "llama3" and not out.get("original_max_position_embeddings"):
        raise InvalidArgument("scaling", "llama3 scaling needs 'original_max_position_embeddings'")
    if kind == "llama3" and out.get("high_freq_factor", 4.0) == out.get("low_freq_factor", 1.0):
        raise InvalidArgument("scaling", "llama3 needs high_freq_factor != low_freq_factor")
    return out


class RoPEOps(TraitBase):
    """apply_rope / apply_rope_backward / rope_frequencies / alibi_slopes / alibi_bias."""

    def _rope_args(self, x: Tensor, cos: Tensor, sin: Tensor, position_ids: Any) -> Tensor | None:
        self._check_tensor("x", x)
        if x.ndim != 4 or x.shape[3] % 2:
            raise InvalidArgument("x", f"expected [B, H, S, D] with an even D, received shape {x.shape}")
        if not x.dtype.is_float:
            raise InvalidArgument("x", f"expected a float tensor, received {x.dtype}")
        self._check_compute("apply_rope", x.dtype)
        b, _, s, d = x.shape
        for name, t in (("cos", cos), ("sin", sin)):
            self._check_tensor(name, t)
            if t.ndim != 2 or t.shape[1] != d // 2 or not t.dtype.is_float:
                raise InvalidArgument(name, f"expected a float [S_max, {d // 2}] table, received {t.shape} {t.dtype}")
        if sin.shape != cos.shape:
            raise InvalidArgument("sin", f"expected cos's shape {cos.shape}, received {sin.shape}")
        if position_ids is None:
            if s > cos.shape[0]:
                raise InvalidArgument("cos", f"table has {cos.shape[0]} positions, x needs {s}")
            return None
        pos = self._index_tensor("position_ids", position_ids)
        if pos.shape not in ((s,), (b, s)):
            raise InvalidArgument("position_ids", f"expected shape ({s},) or ({b}, {s}), received {pos.shape}")
        return pos

    def apply_rope(
        self, x: Tensor, cos: Tensor, sin: Tensor, *, interleaved: bool = False, position_ids: Any = None
    ) -> Tensor:
        """Rotary position embedding.

        Layout:
            x:            ``[B, H, S, D]`` float, D even; result has x's shape and dtype
            cos, sin:     ``[S_max, D/2]`` (from ``rope_frequencies``), computed in f32
            position_ids: None (positions ``0..S-1``) or ints ``[S]`` / ``[B, S]`` (packed sequences)
        Split-half (default) rotates ``(x[k], x[k + D/2])``; ``interleaved`` rotates ``(x[2k], x[2k+1])``:
        ``(a, b) -> (a cos - b sin, a sin + b cos)``. Position ids out of table range: InvalidArgument
        on the CPU, clamped on GPU backends (as in ``index_select``).
        """
        pos = self._rope_args(x, cos, sin, position_ids)
        return self._apply_rope(x, cos, sin, bool(interleaved), pos, 1.0)

    def apply_rope_backward(
        self, grad: Tensor, cos: Tensor, sin: Tensor, *, interleaved: bool = False, position_ids: Any = None
    ) -> Tensor:
        """Gradient of ``apply_rope`` w.r.t. x: the inverse rotation (angle ``-theta``) of ``grad``.

        Layout: as ``apply_rope`` (``grad`` in place of ``x``).
        """
        pos = self._rope_args(grad, cos, sin, position_ids)
        return self._apply_rope(grad, cos, sin, bool(interleaved), pos, -1.0)

    def _apply_rope(
        self, x: Tensor, cos: Tensor, sin: Tensor, interleaved: bool, position_ids: Tensor | None, sign: float
    ) -> Tensor:
        """Backend hook (validated inputs; ``sign`` -1 is the backward); default: the generic composite."""
        return _gen.apply_rope(self, x, cos, sin, interleaved, position_ids, sign)

    def rope_frequencies(
        self, head_dim: int, max_pos: int, base: float = 10000.0, scaling: dict[str, Any] | None = None,
        dtype: Any = _dt.f32,
    ) -> tuple[Tensor, Tensor, float]:  # fmt: skip
        """RoPE tables ``(cos, sin, attention_factor)`` with ``theta[p, k] = p * inv_freq[k]``.

        Layout: cos, sin ``[max_pos, head_dim / 2]`` in ``dtype`` (f32 default, as HF computes them).
        ``scaling`` is HF's ``rope_scaling`` dict (``rope_type`` or ``type``): None/"default",
        "linear" (``factor``), "llama3" (``factor``, ``low_freq_factor``, ``high_freq_factor``,
        ``original_max_position_embeddings``), "yarn" (``factor``, ``original_max_position_embeddings``
        (default ``max_pos``), ``beta_fast``, ``beta_slow``, ``attention_factor``, ``mscale``,
        ``mscale_all_dim``, ``truncate``). Any other type is InvalidArgument. ``attention_factor`` is
        1.0 except for yarn; HF multiplies cos and sin by it (so q.k scales by its square): do the same.
        """
        if not isinstance(head_dim, int) or head_dim <= 0 or head_dim % 2:
            raise InvalidArgument("head_dim", f"expected a positive even int, received {head_dim!r}")
        if not isinstance(max_pos, int) or max_pos < 0:
            raise InvalidArgument("max_pos", f"expected an int >= 0, received {max_pos!r}")
        if not isinstance(base, (int, float)) or base <= 1:
            raise InvalidArgument("base", f"expected a number > 1, received {base!r}")
        dt = _dt.dtype(dtype)
        if dt not in (_dt.f32, _dt.f64):
            raise InvalidArgument("dtype", f"expected f32 or f64, received {dt}")
        inv, att = _gen.inv_frequencies(head_dim, float(base), _scaling(scaling), max_pos)
        cos, sin = _gen.rope_frequencies(self, inv, max_pos, dt)
        return cos, sin, att

    def alibi_slopes(self, num_heads: int) -> Tensor:
        """ALiBi slopes ``[num_heads]`` f32 (Press et al., with the interleave for non-powers of 2)."""
        if not isinstance(num_heads, int) or num_heads <= 0:
            raise InvalidArgument("num_heads", f"expected a positive int, received {num_heads!r}")
        return self.from_numpy(_gen.alibi_slopes(num_heads), _dt.f32)

    def alibi_bias(self, num_heads: int, sq: int, sk: int, causal: bool = True) -> Tensor:
        """ALiBi additive attention bias.

        Layout: ``[num_heads, Sq, Sk]`` f32, ``bias[h, i, j] = -slope_h * |p_i - j|`` with the
        bottom-right aligned query position ``p_i = i + Sk - Sq``; ``causal`` puts -inf at ``j > p_i``.
        """
        for name, n in (("sq", sq), ("sk", sk)):
            if not isinstance(n, int) or n < 0:
                raise InvalidArgument(name, f"expected an int >= 0, received {n!r}")
        return _gen.alibi_bias(self, self.alibi_slopes(num_heads), sq, sk, bool(causal))
