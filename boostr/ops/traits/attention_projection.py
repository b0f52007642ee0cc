"""Fused attention projections: QKV projection with the GQA split, output projection + residual; fwd and bwd.

Backends may override ``_qkv_projection`` / ``_qkv_projection_bwd`` / ``_output_projection`` /
``_output_projection_bwd``; the defaults are the generic composites of
``boostr/ops/generic/attention_projection.py`` (which state the formulas).
Weights follow ``torch.nn.Linear``: ``y = x @ W^T + b`` with ``W [out_features, in_features]``.
"""

from __future__ import annotations

from ...errors import InvalidArgument
from ...tensor import Tensor
from ..generic import attention_projection as _gen
from ._base import TraitBase
from ._util import check_heads, positive_int


class AttentionProjectionOps(TraitBase):
    """fused_qkv_projection(_bwd) / fused_output_projection(_bwd)."""

    def _proj_check(self, name: str, t: Tensor, shape: tuple[int, ...], dtype: object) -> None:
        self._check_tensor(name, t)
        if t.shape != shape:
            raise InvalidArgument(name, f"expected shape {shape}, received {t.shape}")
        if t.dtype is not dtype:
            raise InvalidArgument(name, f"expected dtype {dtype}, received {t.dtype}")

    def _qkv_dims(self, x: Tensor, w_qkv: Tensor, num_heads: int, num_kv_heads: int, head_dim: int) -> int:
        h, hkv = check_heads(num_heads, num_kv_heads)
        d = positive_int("head_dim", head_dim)
        self._check_tensor("x", x)
        if x.ndim != 3 or not x.dtype.is_float:
            raise InvalidArgument("x", f"expected a float [B, S, d_model] tensor, received {x.shape} {x.dtype}")
        self._check_compute("fused_qkv_projection", x.dtype)
        n = (h + 2 * hkv) * d
        self._proj_check("w_qkv", w_qkv, (n, x.shape[2]), x.dtype)
        return n

    def fused_qkv_projection(
        self, x: Tensor, w_qkv: Tensor, b_qkv: Tensor | None, num_heads: int, num_kv_heads: int, head_dim: int
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Project ``x`` to q, k, v in one matmul and split the heads (MHA, GQA, MQA).

        Layout:
            x:      ``[B, S, d_model]`` float
            w_qkv:  ``[(H + 2 H_kv) * D, d_model]`` (x's dtype): rows ``0..H*D-1`` are q's heads in order,
                    then ``H_kv * D`` rows of k's heads, then v's (``cat([Wq, Wk, Wv], 0)`` of Linear weights)
            b_qkv:  None or ``[(H + 2 H_kv) * D]`` (x's dtype)
            returns q ``[B, H, S, D]``, k, v ``[B, H_kv, S, D]``: contiguous, x's dtype
        """
        n = self._qkv_dims(x, w_qkv, num_heads, num_kv_heads, head_dim)
        if b_qkv is not None:
            self._proj_check("b_qkv", b_qkv, (n,), x.dtype)
        return self._qkv_projection(x, w_qkv, b_qkv, num_heads, num_kv_heads, head_dim)

    def _qkv_projection(
        self, x: Tensor, w: Tensor, b: Tensor | None, h: int, hkv: int, d: int
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Backend hook (validated inputs); default: the generic composite."""
        return _gen.qkv_projection(self, x, w, b, h, hkv, d)

    def fused_qkv_projection_bwd(
        self, dq: Tensor, dk: Tensor, dv: Tensor, x: Tensor, w_qkv: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Gradients of ``fused_qkv_projection`` given the gradients of its outputs.

        Layout: dq ``[B, H, S, D]``, dk/dv ``[B, H_kv, S, D]`` (x's dtype); x, w_qkv as the forward.
        Returns ``dx [B, S, d_model]``, ``dw_qkv [(H + 2 H_kv) D, d_model]``, ``db_qkv [(H + 2 H_kv) D]``
        (the bias gradient, whether or not the forward had a bias: ignore it if not).
        """
        for name, t in (("dq", dq), ("dk", dk)):
            self._check_tensor(name, t)
            if t.ndim != 4:
                raise InvalidArgument(name, f"expected 4 dims [B, heads, S, D], received {t.shape}")
        b, h, s, d = dq.shape
        hkv = dk.shape[1]
        self._qkv_dims(x, w_qkv, h, hkv, d)
        if x.shape[:2] != (b, s):
            raise InvalidArgument("x", f"expected [B={b}, S={s}, d_model] to match dq {dq.shape}, received {x.shape}")
        self._proj_check("dq", dq, (b, h, s, d), x.dtype)
        self._proj_check("dk", dk, (b, hkv, s, d), x.dtype)
        self._proj_check("dv", dv, (b, hkv, s, d), x.dtype)
        return self._qkv_projection_bwd(dq, dk, dv, x, w_qkv)

    def _qkv_projection_bwd(
        self, dq: Tensor, dk: Tensor, dv: Tensor, x: Tensor, w: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Backend hook (validated inputs); default: the generic composite."""
        return _gen.qkv_projection_bwd(self, dq, dk, dv, x, w)

    def _out_dims(self, attn: Tensor, w_o: Tensor) -> tuple[int, int, int, int]:
        self._check_tensor("attn", attn)
        if attn.ndim != 4 or not attn.dtype.is_float:
            raise InvalidArgument("attn", f"expected a float [B, H, S, D] tensor, received {attn.shape} {attn.dtype}")
        self._check_compute("fused_output_projection", attn.dtype)
        self._check_tensor("w_o", w_o)
        b, h, s, d = attn.shape
        if w_o.ndim != 2 or w_o.shape[1] != h * d:
            raise InvalidArgument("w_o", f"expected [d_model, H*D = {h * d}], received {w_o.shape}")
        self._proj_check("w_o", w_o, w_o.shape, attn.dtype)
        return b, s, w_o.shape[0], h * d

    def fused_output_projection(self, attn: Tensor, w_o: Tensor, residual: Tensor, b_o: Tensor | None = None) -> Tensor:
        """Merge the heads of ``attn``, project and add the residual: ``attn' @ w_o^T + b_o + residual``.

        Layout:
            attn:     ``[B, H, S, D]`` float (the attention output)
            w_o:      ``[d_model, H * D]`` (attn's dtype); column ``h * D + d`` reads head h, dim d
            residual: ``[B, S, d_model]``; b_o None or ``[d_model]`` (attn's dtype)
            returns   ``[B, S, d_model]`` in attn's dtype
        """
        b, s, dm, _ = self._out_dims(attn, w_o)
        self._proj_check("residual", residual, (b, s, dm), attn.dtype)
        if b_o is not None:
            self._proj_check("b_o", b_o, (dm,), attn.dtype)
        return self._output_projection(attn, w_o, residual, b_o)

    def _output_projection(self, attn: Tensor, w: Tensor, residual: Tensor, b: Tensor | None) -> Tensor:
        """Backend hook (validated inputs); default: the generic composite."""
        return _gen.output_projection(self, attn, w, residual, b)

    def fused_output_projection_bwd(
        self, dout: Tensor, attn: Tensor, w_o: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Gradients of ``fused_output_projection`` given ``dout [B, S, d_model]``.

        Returns ``dattn [B, H, S, D]``, ``dw_o [d_model, H * D]``, ``db_o [d_model]`` and
        ``dresidual [B, S, d_model]`` (which is ``dout`` itself: the residual passes straight through).
        """
        b, s, dm, _ = self._out_dims(attn, w_o)
        self._proj_check("dout", dout, (b, s, dm), attn.dtype)
        return self._output_projection_bwd(dout, attn, w_o)

    def _output_projection_bwd(self, dout: Tensor, attn: Tensor, w: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Backend hook (validated inputs); default: the generic composite."""
        return _gen.output_projection_bwd(self, dout, attn, w)
