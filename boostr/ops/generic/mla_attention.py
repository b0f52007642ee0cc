"""Generic multi-head latent attention forward (DeepSeek-V2 MLA) in the absorbed form, from primitives.

Per head ``h`` the paper's keys and values are up-projections of the shared latent ``c_j``:
``k_jh = [W_UK_h c_j ; k_rope_j]`` and ``v_jh = W_UV_h c_j``. The up-projections are absorbed
(DeepSeek-V2, section 2.1.2): ``q_nope . (W_UK_h c_j) = (W_UK_h^T q_nope) . c_j`` and
``sum_j p_j W_UV_h c_j = W_UV_h sum_j p_j c_j``, so attention runs once in the latent space as
multi-query attention with the key ``[c_j ; k_rope_j]`` (``d_c + d_r`` wide) and the value
``c_j`` shared by all heads, then ``W_UV`` maps each head's latent output to ``d_v``:

    q_lat = q_nope @ w_uk                       [B, H, Sq, d_c]
    (o_lat, lse) = flash([q_lat ; q_rope], [c ; k_rope], c)   (one KV head, mask as flash)
    out = o_lat @ w_uv^T                        [B, H, Sq, d_v]

Layouts: see ``boostr/ops/traits/mla_attention.py``. Accumulation in f32 (f64 stays f64).
"""

from __future__ import annotations

from typing import Any

from ... import dtype as _dt
from ...tensor import Tensor
from . import attention as _flash
from .attention_mask import AttnSpec, work_dtype


def mla_attention_fwd(
    c: Any, q_nope: Tensor, q_rope: Tensor, kv_latent: Tensor, k_rope: Tensor, w_uk: Tensor, w_uv: Tensor,
    spec: AttnSpec,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """Returns (out ``[B, H, Sq, d_v]`` in q's dtype, lse ``[B, H, Sq]`` f32); inputs validated by the trait."""
    wdt = work_dtype(q_nope.dtype)
    q_lat = c.matmul(c.cast(q_nope, wdt), c.cast(w_uk, wdt))
    qc = c.cat([q_lat, c.cast(q_rope, wdt)], -1)
    lat = c.cast(kv_latent, wdt)
    kc = c.cat([lat, c.cast(k_rope, wdt)], -1).unsqueeze(1)
    o_lat, lse = _flash.flash_attention_fwd(c, qc, kc, lat.unsqueeze(1), spec)
    out = c.matmul(o_lat, c.cast(w_uv, wdt).transpose(-1, -2))
    return c.cast(out, q_nope.dtype), c.cast(lse, _dt.f32)
