"""Multi-head latent attention forward (DeepSeek-V2 MLA): compressed latent KV with decoupled RoPE keys.

Backends override ``_mla_attention_fwd``; the default is the generic composite of
``boostr/ops/generic/mla_attention.py`` (the absorbed form, stated there).
"""

from __future__ import annotations

import math

from ...errors import InvalidArgument
from ...tensor import Tensor
from ..generic import mla_attention as _gen
from ..generic.attention_mask import AttnSpec
from ._base import TraitBase


class MlaAttentionOps(TraitBase):
    """mla_attention_fwd."""

    def mla_attention_fwd(
        self, q_nope: Tensor, q_rope: Tensor, kv_latent: Tensor, k_rope: Tensor, w_uk: Tensor, w_uv: Tensor, *,
        causal: bool = False, scale: float | None = None, kv_seq_len: int | None = None,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """MLA attention over a latent KV cache (DeepSeek-V2, arXiv:2405.04434, eqs. 9-19).

        Layout (``d_n``: no-RoPE query/key dim per head, ``d_r``: RoPE dim, ``d_c``: latent dim):
            q_nope:    ``[B, H, Sq, d_n]``   the paper's ``q^C`` per head
            q_rope:    ``[B, H, Sq, d_r]``   ``q^R`` (RoPE already applied)
            kv_latent: ``[B, Sk, d_c]``      ``c^KV``, shared by all heads (the cached latent)
            k_rope:    ``[B, Sk, d_r]``      ``k^R``, shared by all heads (RoPE already applied)
            w_uk:      ``[H, d_n, d_c]``     ``W^UK`` split per head: key ``k^C_jh = w_uk[h] @ c_j``
            w_uv:      ``[H, d_v, d_c]``     ``W^UV`` split per head: value ``v^C_jh = w_uv[h] @ c_j``
            returns    out ``[B, H, Sq, d_v]`` (q's dtype), lse ``[B, H, Sq]`` f32
        Scores: ``scale * (q_nope . (w_uk[h] c_j) + q_rope . k_rope_j)``, scale default
        ``1 / sqrt(d_n + d_r)``; ``out_h = sum_j softmax_j(scores) w_uv[h] c_j``. (HF's ``kv_b_proj``
        weight viewed as ``[H, d_n + d_v, d_c]`` splits into ``w_uk`` then ``w_uv``.) ``causal``
        and ``kv_seq_len`` mask as ``flash_attention_fwd`` (bottom-right aligned). One float
        dtype for all six inputs; accumulation in f32.
        """
        args = (("q_nope", q_nope), ("q_rope", q_rope), ("kv_latent", kv_latent), ("k_rope", k_rope))
        for name, t in (*args, ("w_uk", w_uk), ("w_uv", w_uv)):
            self._check_tensor(name, t)
            if t.dtype is not q_nope.dtype or not t.dtype.is_float:
                raise InvalidArgument(name, f"expected q_nope's float dtype {q_nope.dtype}, received {t.dtype}")
            want = 3 if name in ("kv_latent", "k_rope", "w_uk", "w_uv") else 4
            if t.ndim != want or 0 in t.shape[-1:]:
                raise InvalidArgument(name, f"expected {want} dims with a non-empty last dim, received {t.shape}")
        self._check_compute("mla_attention_fwd", q_nope.dtype)
        b, h, sq, dn = q_nope.shape
        sk, dc = kv_latent.shape[1], kv_latent.shape[2]
        dr = k_rope.shape[2]
        expect = {
            "q_rope": (q_rope.shape, (b, h, sq, dr)),
            "kv_latent": (kv_latent.shape, (b, sk, dc)),
            "k_rope": (k_rope.shape, (b, sk, dr)),
            "w_uk": (w_uk.shape, (h, dn, dc)),
            "w_uv": (w_uv.shape, (h, w_uv.shape[1], dc)),
        }
        for name, (got, want_shape) in expect.items():
            if tuple(got) != want_shape:
                raise InvalidArgument(name, f"expected shape {want_shape} (from q_nope {q_nope.shape}), got {got}")
        if kv_seq_len is None:
            kv_len = sk
        elif isinstance(kv_seq_len, int) and not isinstance(kv_seq_len, bool) and 0 <= kv_seq_len <= sk:
            kv_len = kv_seq_len
        else:
            raise InvalidArgument("kv_seq_len", f"expected None or an int in [0, {sk}], received {kv_seq_len!r}")
        if scale is None:
            sc = 1.0 / math.sqrt(dn + dr)
        elif isinstance(scale, (int, float)) and not isinstance(scale, bool) and math.isfinite(scale):
            sc = float(scale)
        else:
            raise InvalidArgument("scale", f"expected None or a finite float, received {scale!r}")
        spec = AttnSpec(bool(causal), 0, kv_len, sc)
        return self._mla_attention_fwd(q_nope, q_rope, kv_latent, k_rope, w_uk, w_uv, spec)

    def _mla_attention_fwd(
        self, q_nope: Tensor, q_rope: Tensor, kv_latent: Tensor, k_rope: Tensor, w_uk: Tensor, w_uv: Tensor,
        spec: AttnSpec,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """Backend hook (validated inputs); default: the generic composite."""
        return _gen.mla_attention_fwd(self, q_nope, q_rope, kv_latent, k_rope, w_uk, w_uv, spec)
