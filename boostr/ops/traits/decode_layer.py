"""A fused pre-norm decoder layer (LLaMA block) over a contiguous KV cache.

``fused_decoder_layer`` is one ``nn.DecoderBlock`` call with a cache: add + RMSNorm, the fused QKV
projection, RoPE on q and k, the cache write, causal (optionally windowed) GQA attention over the
cache, the output projection, add + RMSNorm and the SwiGLU MLP. The default body is the generic
composite of ``boostr/ops/generic/decode_layer.py`` (which is the definition); a backend may
override ``_fused_decoder_layer`` (the CPU runs one numba call per layer for one new token).
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidArgument
from ...tensor import Tensor
from ..generic import decode_layer as _gen
from ._base import TraitBase
from ._util import check_heads


def _shape2(name: str, w: Any, shape: tuple[int, int]) -> None:
    if tuple(getattr(w, "shape", ())) != shape:
        raise InvalidArgument(name, f"expected a [{shape[0]}, {shape[1]}] weight, received {w!r}")


class DecodeLayerOps(TraitBase):
    """fused_decoder_layer."""

    def fused_decoder_layer(
        self, x: Tensor, residual: Tensor | None, ln1: Tensor, w_qkv: Any, w_o: Any, ln2: Tensor, w_gate: Any,
        w_up: Any, w_down: Any, k_cache: Tensor, v_cache: Tensor, pos: int, cos: Tensor, sin: Tensor,
        num_heads: int, num_kv_heads: int, eps: float, interleaved: bool = False, window: int = 0,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """One decoder layer at positions ``pos .. pos + S - 1``; writes k/v into the caches.

        Formula: ``r = x + residual`` (``x`` when residual is None), ``h = rms_norm(r) * ln1``,
        ``[q | k | v] = h @ w_qkv^T``, q and k rotated by ``cos/sin`` (split halves, or adjacent
        pairs when ``interleaved``), k/v stored at ``pos``, ``a = softmax(q k^T / sqrt(D) + causal
        (window) mask) v`` over cache positions ``[0, pos + S)``, ``r2 = a @ w_o^T + r``,
        ``h2 = rms_norm(r2) * ln2``, ``out = (silu(h2 @ w_gate^T) * (h2 @ w_up^T)) @ w_down^T``.

        Layout:
            x, residual:      ``[B, S, E]`` float (residual None: the first layer)
            ln1, ln2:         ``[E]`` float
            w_qkv:            ``[(H + 2 H_kv) * D, E]`` float Tensor or QuantTensor (rows: q heads,
                              then k heads, then v heads: ``cat([Wq, Wk, Wv], 0)``)
            w_o:              ``[E, H * D]``; w_gate, w_up ``[F, E]``; w_down ``[E, F]``
            k_cache, v_cache: ``[B, H_kv, S_max, D]``, ``pos + S <= S_max``
            cos, sin:         ``[S, D/2]`` rotation rows of positions ``pos ..`` (``RoPE.tables``)
            returns           ``(out [B, S, E], r2 [B, S, E])`` in x's dtype
        """
        h, hkv = check_heads(num_heads, num_kv_heads)
        self._check_tensor("x", x)
        if x.ndim != 3 or not x.dtype.is_float:
            raise InvalidArgument("x", f"expected a float [B, S, E] tensor, received {x.shape} {x.dtype}")
        b, s, e = x.shape
        if residual is not None:
            self._check_tensor("residual", residual)
            if residual.shape != x.shape or residual.dtype is not x.dtype:
                raise InvalidArgument("residual", f"expected {x.shape} {x.dtype}, received {residual!r}")
        for name, t in (("k_cache", k_cache), ("v_cache", v_cache)):
            self._check_tensor(name, t)
            if t.ndim != 4 or t.shape[:2] != (b, hkv) or t.shape != k_cache.shape:
                raise InvalidArgument(name, f"expected [B={b}, H_kv={hkv}, S_max, D], received {t.shape}")
        d, smax = k_cache.shape[3], k_cache.shape[2]
        if d % 2:
            raise InvalidArgument("k_cache", f"expected an even head dim, received {d}")
        if not isinstance(pos, int) or isinstance(pos, bool) or pos < 0 or pos + s > smax:
            raise InvalidArgument("pos", f"expected an int with 0 <= pos and pos + {s} <= {smax}, received {pos!r}")
        for name, t in (("cos", cos), ("sin", sin)):
            self._check_tensor(name, t)
            if t.shape != (s, d // 2):
                raise InvalidArgument(name, f"expected [S={s}, D/2={d // 2}], received {t.shape}")
        for name, t in (("ln1", ln1), ("ln2", ln2)):
            self._check_tensor(name, t)
            if t.shape != (e,) or not t.dtype.is_float:
                raise InvalidArgument(name, f"expected a float [{e}] tensor, received {t!r}")
        _shape2("w_qkv", w_qkv, ((h + 2 * hkv) * d, e))
        _shape2("w_o", w_o, (e, h * d))
        f = int(getattr(w_gate, "shape", (0,))[0])
        _shape2("w_gate", w_gate, (f, e))
        _shape2("w_up", w_up, (f, e))
        _shape2("w_down", w_down, (e, f))
        if not isinstance(window, int) or window < 0:
            raise InvalidArgument("window", f"expected an int >= 0, received {window!r}")
        return self._fused_decoder_layer(
            x, residual, ln1, w_qkv, w_o, ln2, w_gate, w_up, w_down, k_cache, v_cache, pos, cos, sin, h, hkv,
            float(eps), bool(interleaved), window,
        )  # fmt: skip

    def _fused_decoder_layer(
        self, x: Tensor, residual: Tensor | None, ln1: Tensor, w_qkv: Any, w_o: Any, ln2: Tensor, w_gate: Any,
        w_up: Any, w_down: Any, k_cache: Tensor, v_cache: Tensor, pos: int, cos: Tensor, sin: Tensor, h: int,
        hkv: int, eps: float, interleaved: bool, window: int,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """Backend hook (validated inputs); default: the generic composite."""
        return _gen.decoder_layer(
            self, x, residual, ln1, w_qkv, w_o, ln2, w_gate, w_up, w_down, k_cache, v_cache, pos, cos, sin, h, hkv,
            eps, interleaved, window,
        )  # fmt: skip
