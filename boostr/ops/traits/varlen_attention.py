"""Variable-length (packed) attention forward and backward, FlashAttention-2's ``flash_attn_varlen_func`` layout.

Backends may override ``_varlen_attention_fwd`` / ``_varlen_attention_bwd``; the defaults are the
generic composites of ``boostr/ops/generic/varlen_attention.py`` (one flash attention per
sequence, so a backend's fused flash kernels serve varlen too).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ...errors import InvalidArgument
from ...tensor import Tensor
from ..generic import varlen_attention as _gen
from ._base import TraitBase
from .attention import SUPPORTED_HEAD_DIMS


def _cu(name: str, cu: Any, total: int) -> list[int]:
    """Validate cumulative sequence lengths (host control data) into a Python list."""
    arr = cu.numpy() if isinstance(cu, Tensor) else np.asarray(cu)
    if arr.ndim != 1 or arr.size < 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise InvalidArgument(name, f"expected a 1-D int sequence [num_seqs + 1], received {arr!r}")
    vals = [int(x) for x in arr]
    if vals[0] != 0 or vals[-1] != total:
        raise InvalidArgument(name, f"expected to start at 0 and end at {total}, received {vals}")
    if any(b < a for a, b in itertools.pairwise(vals)):
        raise InvalidArgument(name, f"expected non-decreasing offsets, received {vals}")
    return vals


class VarlenAttentionOps(TraitBase):
    """varlen_attention_fwd / varlen_attention_bwd."""

    def _varlen_args(
        self, q: Tensor, k: Tensor, v: Tensor, cu_seqlens_q: Any, cu_seqlens_k: Any, max_q: int, max_k: int,
        scale: float | None,
    ) -> tuple[list[int], list[int], float]:  # fmt: skip
        for name, t in (("q", q), ("k", k), ("v", v)):
            self._check_tensor(name, t)
            if t.ndim != 3:
                raise InvalidArgument(name, f"expected 3 dims [total, H, D], received shape {t.shape}")
        if not q.dtype.is_float or k.dtype is not q.dtype or v.dtype is not q.dtype:
            raise InvalidArgument("k", f"expected q, k, v of one float dtype, received {q.dtype}, {k.dtype}, {v.dtype}")
        if v.shape != k.shape or k.shape[2] != q.shape[2]:
            raise InvalidArgument(
                "v", f"expected k and v of shape [total_k, H_kv, {q.shape[2]}], got {k.shape}, {v.shape}"
            )
        h, hkv, d = q.shape[1], k.shape[1], q.shape[2]
        if hkv == 0 or h % hkv:
            raise InvalidArgument("k", f"q's {h} heads are not a multiple of k's {hkv} KV heads")
        if d not in SUPPORTED_HEAD_DIMS:
            raise InvalidArgument("q", f"head dim {d} is not supported; expected one of {SUPPORTED_HEAD_DIMS}")
        cq = _cu("cu_seqlens_q", cu_seqlens_q, q.shape[0])
        ck = _cu("cu_seqlens_k", cu_seqlens_k, k.shape[0])
        if len(cq) != len(ck):
            raise InvalidArgument("cu_seqlens_k", f"expected {len(cq)} offsets like cu_seqlens_q, received {len(ck)}")
        for name, cu, mx in (("max_q", cq, max_q), ("max_k", ck, max_k)):
            longest = max((b - a for a, b in itertools.pairwise(cu)), default=0)
            if not isinstance(mx, int) or mx < longest:
                raise InvalidArgument(name, f"expected an int >= the longest sequence ({longest}), received {mx!r}")
        if scale is not None and not (isinstance(scale, (int, float)) and math.isfinite(scale)):
            raise InvalidArgument("scale", f"expected None or a finite float, received {scale!r}")
        return cq, ck, 1.0 / math.sqrt(d) if scale is None else float(scale)

    def varlen_attention_fwd(
        self, q: Tensor, k: Tensor, v: Tensor, cu_seqlens_q: Any, cu_seqlens_k: Any, max_q: int, max_k: int, *,
        causal: bool = False, scale: float | None = None,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """Attention over a batch of packed sequences of different lengths.

        Layout:
            q:             ``[total_q, H, D]``; k, v ``[total_k, H_kv, D]`` (one float dtype, H % H_kv == 0)
            cu_seqlens_*:  ``[num_seqs + 1]`` ints, 0 first, total last, non-decreasing; sequence s is
                           rows ``cu[s]:cu[s+1]``. Python lists, numpy arrays or tensors (a tensor is
                           read back to the host once: these are control data, as in FlashAttention)
            max_q, max_k:  upper bounds of the sequence lengths (validated)
            returns        out ``[total_q, H, D]`` (q's dtype), lse ``[H, total_q]`` f32
        Empty and length-1 sequences are allowed; a query with no key gets 0 and lse -inf.
        ``causal`` is bottom-right aligned per sequence (as ``flash_attention_fwd``).
        """
        cq, ck, sc = self._varlen_args(q, k, v, cu_seqlens_q, cu_seqlens_k, max_q, max_k, scale)
        return self._varlen_attention_fwd(q, k, v, cq, ck, bool(causal), sc)

    def _varlen_attention_fwd(
        self, q: Tensor, k: Tensor, v: Tensor, cu_q: list[int], cu_k: list[int], causal: bool, scale: float
    ) -> tuple[Tensor, Tensor]:
        """Backend hook (validated inputs); default: the generic composite."""
        return _gen.varlen_attention_fwd(self, q, k, v, cu_q, cu_k, causal, scale)

    def varlen_attention_bwd(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, cu_seqlens_q: Any,
        cu_seqlens_k: Any, max_q: int, max_k: int, *, causal: bool = False, scale: float | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
        """Gradients of ``varlen_attention_fwd`` given ``dout`` and the forward's ``out`` and ``lse``.

        Layout:
            dout, out:  ``[total_q, H, D]`` (q's shape)
            lse:        ``[H, total_q]`` f32, as returned by the forward
            returns     ``dq [total_q, H, D]``, ``dk [total_k, H_kv, D]``, ``dv [total_k, H_kv, D]``
                        in the dtypes of q, k, v
        The other arguments and options must equal the forward's. Queries of a sequence with no
        key and keys no query sees get zero gradient.
        """
        cq, ck, sc = self._varlen_args(q, k, v, cu_seqlens_q, cu_seqlens_k, max_q, max_k, scale)
        for name, t in (("dout", dout), ("out", out)):
            self._check_tensor(name, t)
            if t.shape != q.shape:
                raise InvalidArgument(name, f"expected q's shape {q.shape}, received {t.shape}")
        self._check_tensor("lse", lse)
        if lse.shape != (q.shape[1], q.shape[0]) or not lse.dtype.is_float:
            raise InvalidArgument("lse", f"expected a float [H, total_q] = {(q.shape[1], q.shape[0])}, got {lse.shape}")
        return self._varlen_attention_bwd(dout, q, k, v, out, lse, cq, ck, bool(causal), sc)

    def _varlen_attention_bwd(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, cu_q: list[int],
        cu_k: list[int], causal: bool, scale: float,
    ) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
        """Backend hook (validated inputs); default: the generic composite."""
        return _gen.varlen_attention_bwd(self, dout, q, k, v, out, lse, cu_q, cu_k, causal, scale)
