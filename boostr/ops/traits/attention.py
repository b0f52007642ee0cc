"""Flash attention forward and backward (FlashAttention-2 semantics), with flash decoding for Sq == 1.

Mask (bottom-right aligned, FlashAttention-2): with ``L = kv_seq_len`` (default ``Sk``)
query ``i`` sits at position ``p_i = i + L - Sq``; key ``j`` is visible iff ``j < L``,
and ``j <= p_i`` when causal, and ``p_i - w < j <= p_i`` when ``window = w > 0`` (a
window implies causal). A query that sees no key (e.g. ``Sq > L`` with causal, or
``L = 0``) gets output 0 and log-sum-exp ``-inf``.

ALiBi (``alibi_slopes=[H]``): the score of query ``i`` and key ``j`` in head ``h`` gets
``-slope_h * |p_i - j|`` added after scaling (FlashAttention-2's ``alibi_slopes``).

Backends override ``_flash_attention_fwd`` / ``_flash_attention_bwd`` (and, for ALiBi,
``_flash_attention_fwd_alibi`` / ``_flash_attention_bwd_alibi``) with fused kernels; the
default bodies are the generic composites of ``boostr/ops/generic/attention*.py``.
"""

from __future__ import annotations

import math

from ...errors import InvalidArgument
from ...tensor import Tensor
from ..generic import attention as _gen
from ..generic import attention_bwd as _gen_bwd
from ..generic.attention_mask import AttnSpec
from ._base import TraitBase

SUPPORTED_HEAD_DIMS = (32, 64, 80, 96, 128, 256)


class AttentionOps(TraitBase):
    """flash_attention_fwd / flash_attention_bwd."""

    def _attn_spec(
        self, q: Tensor, k: Tensor, v: Tensor, causal: bool, window: int, kv_seq_len: int | None,
        scale: float | None, op: str,
    ) -> AttnSpec:  # fmt: skip
        for name, t in (("q", q), ("k", k), ("v", v)):
            self._check_tensor(name, t)
            if t.ndim != 4:
                raise InvalidArgument(name, f"expected 4 dims [B, H, S, D], received shape {t.shape}")
        if not q.dtype.is_float or k.dtype is not q.dtype or v.dtype is not q.dtype:
            raise InvalidArgument("k", f"expected q, k, v of one float dtype, received {q.dtype}, {k.dtype}, {v.dtype}")
        self._check_compute(op, q.dtype)
        b, h, _, d = q.shape
        if k.shape != v.shape:
            raise InvalidArgument("v", f"expected v's shape to equal k's {k.shape}, received {v.shape}")
        if k.shape[0] != b or k.shape[3] != d:
            raise InvalidArgument("k", f"expected [B={b}, H_kv, Sk, D={d}] to match q {q.shape}, received {k.shape}")
        hkv = k.shape[1]
        if hkv == 0 or h % hkv:
            raise InvalidArgument(
                "k", f"q's {h} heads are not a multiple of k's {hkv} KV heads (GQA needs H % H_kv == 0)"
            )
        if d not in SUPPORTED_HEAD_DIMS:
            raise InvalidArgument("q", f"head dim {d} is not supported; expected one of {SUPPORTED_HEAD_DIMS}")
        sk = k.shape[2]
        if not isinstance(window, int) or isinstance(window, bool) or window < 0:
            raise InvalidArgument("window", f"expected an int >= 0 (0 = no window), received {window!r}")
        if kv_seq_len is None:
            kv_len = sk
        elif isinstance(kv_seq_len, int) and not isinstance(kv_seq_len, bool) and 0 <= kv_seq_len <= sk:
            kv_len = kv_seq_len
        else:
            raise InvalidArgument("kv_seq_len", f"expected None or an int in [0, {sk}], received {kv_seq_len!r}")
        if scale is None:
            sc = 1.0 / math.sqrt(d)
        elif isinstance(scale, (int, float)) and not isinstance(scale, bool) and math.isfinite(scale):
            sc = float(scale)
        else:
            raise InvalidArgument("scale", f"expected None or a finite float, received {scale!r}")
        return AttnSpec(bool(causal), window, kv_len, sc)

    def _alibi(self, slopes: Tensor | None, h: int) -> Tensor | None:
        if slopes is None:
            return None
        self._check_tensor("alibi_slopes", slopes)
        if slopes.shape != (h,) or not slopes.dtype.is_float:
            raise InvalidArgument(
                "alibi_slopes", f"expected a float [H={h}] tensor, received {slopes.shape} {slopes.dtype}"
            )
        return slopes

    def flash_attention_fwd(
        self, q: Tensor, k: Tensor, v: Tensor, *, causal: bool = False, window: int = 0,
        kv_seq_len: int | None = None, scale: float | None = None, alibi_slopes: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """Softmax attention ``softmax(q k^T * scale + mask) v`` without the full score matrix.

        Layout:
            q:   ``[B, H, Sq, D]``       (f32, f16, bf16; f64 on the CPU)
            k/v: ``[B, H_kv, Sk, D]``     same dtype; ``H % H_kv == 0`` (MHA, GQA, MQA)
            out: ``[B, H, Sq, D]``       q's dtype, f32 accumulation
            lse: ``[B, H, Sq]``          f32, ``log(sum(exp(scores)))`` per query (-inf if none visible)
        ``D`` in 32/64/80/96/128/256; ``scale`` defaults to ``1/sqrt(D)``; ``window`` 0 is none;
        ``kv_seq_len`` hides keys at and beyond it. Mask alignment: see the module doc.
        ``alibi_slopes``: None or ``[H]`` float (e.g. ``alibi_slopes(H)``) adds the ALiBi bias.
        Sq == 1 runs flash decoding (keys split in chunks, combined by log-sum-exp).
        """
        spec = self._attn_spec(q, k, v, causal, window, kv_seq_len, scale, "flash_attention_fwd")
        slopes = self._alibi(alibi_slopes, q.shape[1])
        if slopes is not None:
            return self._flash_attention_fwd_alibi(q, k, v, slopes, spec)
        return self._flash_attention_fwd(q, k, v, spec)

    def _flash_attention_fwd(self, q: Tensor, k: Tensor, v: Tensor, spec: AttnSpec) -> tuple[Tensor, Tensor]:
        """Backend hook (validated inputs); default: the generic composite."""
        return _gen.flash_attention_fwd(self, q, k, v, spec)

    def _flash_attention_fwd_alibi(
        self, q: Tensor, k: Tensor, v: Tensor, slopes: Tensor, spec: AttnSpec
    ) -> tuple[Tensor, Tensor]:
        """Backend hook for ALiBi (validated inputs, ``slopes [H]``); default: the generic composite."""
        return _gen.flash_attention_fwd(self, q, k, v, spec, slopes)

    def flash_attention_bwd(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, *, causal: bool = False,
        window: int = 0, kv_seq_len: int | None = None, scale: float | None = None,
        alibi_slopes: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
        """Gradients of ``flash_attention_fwd`` given ``dout`` and the forward's ``out`` and ``lse``.

        Layout:
            dout, out: ``[B, H, Sq, D]``  q's dtype
            lse:       ``[B, H, Sq]``     f32 (as returned by the forward)
            returns    ``dq [B, H, Sq, D]``, ``dk [B, H_kv, Sk, D]``, ``dv [B, H_kv, Sk, D]``
        The options (``alibi_slopes`` included) must equal the forward's. Keys hidden by
        ``kv_seq_len`` get zero gradient; the slopes get none (they are constants).
        """
        spec = self._attn_spec(q, k, v, causal, window, kv_seq_len, scale, "flash_attention_bwd")
        for name, t in (("dout", dout), ("out", out)):
            self._check_tensor(name, t)
            if t.shape != q.shape:
                raise InvalidArgument(name, f"expected q's shape {q.shape}, received {t.shape}")
        self._check_tensor("lse", lse)
        if lse.shape != q.shape[:3]:
            raise InvalidArgument("lse", f"expected shape {q.shape[:3]}, received {lse.shape}")
        if not lse.dtype.is_float:
            raise InvalidArgument("lse", f"expected a float tensor (f32), received {lse.dtype}")
        slopes = self._alibi(alibi_slopes, q.shape[1])
        if slopes is not None:
            return self._flash_attention_bwd_alibi(dout, q, k, v, out, lse, slopes, spec)
        return self._flash_attention_bwd(dout, q, k, v, out, lse, spec)

    def _flash_attention_bwd(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, spec: AttnSpec
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Backend hook (validated inputs); default: the generic composite."""
        return _gen_bwd.flash_attention_bwd(self, dout, q, k, v, out, lse, spec)

    def _flash_attention_bwd_alibi(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, slopes: Tensor, spec: AttnSpec
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Backend hook for ALiBi (validated inputs); default: the generic composite."""
        return _gen_bwd.flash_attention_bwd(self, dout, q, k, v, out, lse, spec, slopes)
