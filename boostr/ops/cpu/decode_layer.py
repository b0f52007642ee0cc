"""CPU fused decoder layer: one numba call per layer for one new token (``kernels/cpu/decode_layer.py``).

The fast path takes B = S = 1, f32 activations, norms and caches, and weights that are all
QuantTensors of formats with a fused primitive; anything else runs the generic composite.
Per-weight kernel arguments (read-only byte view, primitive address, format table) are prepared
once per weight and kept while its block bytes live, so a call costs little Python.
"""

from __future__ import annotations

import weakref
from typing import Any

import numba
import numpy as np

from ... import dtype as _dt
from ...kernels.cpu.attention import GEMM_MNK
from ...quant.quant_tensor import QuantTensor
from ...tensor import Tensor
from ..generic import decode_layer as _gen
from ._view import _cstrides, np_view

DECODE_MIN_CHUNK = 128  # as CpuAttention's flash decoding
_KERNELS: list[Any] = []
_PLANS: dict[int, tuple[tuple[Any, ...], int, tuple[Any, ...] | None]] = {}


def _kernels() -> Any:
    """``(kernels.cpu.quant, kernels.cpu.decode_layer)``, imported on first use."""
    if not _KERNELS:
        from ...kernels.cpu import decode_layer, quant

        _KERNELS.extend((quant, decode_layer))
    return _KERNELS


def _make_plan(client: Any, ws: tuple[Any, ...], threads: int) -> tuple[Any, ...] | None:
    """The kernel's weight arguments ``(5 byte views, 4 format tables, meta)`` of ``ws`` (qkv, o,
    gate, up, down), or None unless all are QuantTensors of fused formats on ``client``."""
    kq = _kernels()[0]
    meta = np.empty((5, 6), np.int64)
    views, tabs = [], []
    for i, w in enumerate(ws):
        if type(w) is not QuantTensor or w.data.client is not client or w.format.name not in kq.FUSED:
            return None
        fmt = w.format
        n, k = w.shape
        mult = 2 if i in (2, 3) else 1  # SwiGLU reads two weights per output row
        per = kq._per(n, kq.MATMUL_BYTES_PER_TASK * fmt.block_elems // max(mult * k * fmt.block_bytes, 1))
        meta[i] = (kq._worker(fmt.name), n, k, fmt.block_bytes, fmt.block_elems, per)
        views.append(kq._ro(np_view(w.data)))
        tabs.append(kq._TABLES.get(fmt.name, kq._EMPTY))
    if ws[2].format != ws[3].format:  # gate and up: one primitive runs both
        return None
    return (*views, tabs[0], tabs[1], tabs[2], tabs[4], meta)


def _plan(client: Any, ws: tuple[Any, ...], threads: int) -> tuple[Any, ...] | None:
    """``_make_plan``, kept while the five weights' block bytes live (checked by identity)."""
    got = _PLANS.get(id(ws[0].data)) if type(ws[0]) is QuantTensor else None
    if (
        got is not None
        and got[1] == threads
        and all(r() is getattr(w, "data", None) for r, w in zip(got[0], ws, strict=True))
    ):
        return got[2]
    plan = _make_plan(client, ws, threads)
    if type(ws[0]) is QuantTensor and all(isinstance(getattr(w, "data", None), Tensor) for w in ws):
        if len(_PLANS) > 1024:  # drop the plans of freed weights
            for key in [k for k, (refs, _, _) in _PLANS.items() if any(r() is None for r in refs)]:
                del _PLANS[key]
        _PLANS[id(ws[0].data)] = (tuple(weakref.ref(w.data) for w in ws), threads, plan)  # None: no fused kernel
    return plan


class CpuDecodeLayer:
    """Override of the decode-layer trait's backend method."""

    fused_decoder_layer_native = True
    """``nn.DecoderBlock`` routes decode steps through ``fused_decoder_layer`` where this is True."""

    def _fused_decoder_layer(
        self, x: Tensor, residual: Tensor | None, ln1: Tensor, w_qkv: Any, w_o: Any, ln2: Tensor, w_gate: Any,
        w_up: Any, w_down: Any, k_cache: Tensor, v_cache: Tensor, pos: int, cos: Tensor, sin: Tensor, h: int,
        hkv: int, eps: float, interleaved: bool, window: int,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        plan = None
        threads = numba.get_num_threads()
        if self._decode_layer_fits(x, residual, ln1, ln2, k_cache, v_cache, cos, sin):
            plan = _plan(self, (w_qkv, w_o, w_gate, w_up, w_down), threads)
        if plan is None:
            return _gen.decoder_layer(
                self, x, residual, ln1, w_qkv, w_o, ln2, w_gate, w_up, w_down, k_cache, v_cache, pos, cos, sin, h,
                hkv, eps, interleaved, window,
            )  # fmt: skip
        kq, kd = _kernels()
        d = k_cache.shape[3]
        jlo = max(0, pos - window + 1) if window > 0 else 0
        # flash-decoding chunks as CpuAttention: enough to keep every thread busy, none under 128 keys
        want = max(1, -(-32 * threads // hkv))
        chunk = min(max(DECODE_MIN_CHUNK, -(-(pos + 1 - jlo) // want)), max(8, GEMM_MNK // ((h // hkv) * d)))
        out = self._new(x.shape, _dt.f32)  # type: ignore[attr-defined]
        sum_out = self._new(x.shape, _dt.f32)  # type: ignore[attr-defined]
        xv = np_view(x)
        kd.decode_layer(
            xv, xv if residual is None else np_view(residual), residual is not None, np_view(ln1), np_view(ln2),
            np.float32(eps), *plan, kq._LUT, kq.KSIGNS, np_view(k_cache), np_view(v_cache), np_view(cos),
            np_view(sin), pos, interleaved, h, hkv, np.float32(d**-0.5), jlo, chunk, np_view(out), np_view(sum_out),
        )  # fmt: skip
        return out, sum_out

    def _decode_layer_fits(
        self, x: Tensor, residual: Tensor | None, ln1: Tensor, ln2: Tensor, k_cache: Tensor, v_cache: Tensor,
        cos: Tensor, sin: Tensor,
    ) -> bool:  # fmt: skip
        """B = S = 1 and f32 contiguous activations, norms, caches and tables (the kernel's inputs)."""
        f32 = _dt.f32
        if x.shape[0] != 1 or x.shape[1] != 1:
            return False
        ts = (x, ln1, ln2, k_cache, v_cache, cos, sin) if residual is None else (x, residual, ln1, ln2, k_cache,
                                                                                   v_cache, cos, sin)  # fmt: skip
        return all(t.dtype is f32 and t.strides == _cstrides(t.shape) for t in ts)
