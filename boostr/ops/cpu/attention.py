"""CPU flash attention: numba kernels of ``boostr/kernels/cpu/attention*.py``.

Inputs are staged as C-contiguous f32 arrays (f16/bf16 widened), the kernels accumulate
in f32 and the results are rounded into q's (k's, v's) dtype (an f32 forward writes straight
into the result tensors). Prefill and the backward run the register-blocked microkernel
kernels (``attention_fwd`` / ``attention_bwd``, ALiBi fused in both); Sq == 1 without ALiBi
takes the flash-decoding kernels (keys split in chunks across threads). The kernels' exp is
f32-only, so f64 attention (forward and backward) runs the generic composite in f64.
"""

from __future__ import annotations

import numba
import numpy as np

from ... import dtype as _dt
from ...kernels.cpu.attention import GEMM_MNK, flash_decode_combine, flash_decode_partials
from ...kernels.cpu.attention_bwd import bwd_tiles, flash_bwd
from ...kernels.cpu.attention_fwd import dense_rows, flash_fwd, fwd_tiles
from ...tensor import Tensor
from ..generic import attention as _gen
from ..generic import attention_bwd as _gen_bwd
from ..generic.attention_mask import AttnSpec
from ._view import np_view, store

DECODE_MIN_CHUNK = 128


def _stage(x: Tensor, wd: np.dtype) -> np.ndarray:
    """A C-contiguous numpy array of x in the work dtype (no copy when already so)."""
    return np.ascontiguousarray(np_view(x), dtype=wd)


def _emit(arr: np.ndarray, dtype: _dt.DType, client) -> Tensor:  # type: ignore[no-untyped-def]
    """A new tensor of ``dtype`` holding ``arr`` (rounded)."""
    out = client._new(arr.shape, dtype)
    if out.numel:
        store(out, arr)
    return out


_NO_SLOPES = np.zeros(1, np.float32)


class CpuAttention:
    """Overrides of the attention trait's backend methods."""

    def _cpu_out(self, shape: tuple[int, ...], dtype: _dt.DType) -> tuple[Tensor | None, np.ndarray]:
        """An f32 result buffer: the new tensor's own storage when ``dtype`` is f32, else a scratch array."""
        if dtype is _dt.f32:
            t = self._new(shape, dtype)  # type: ignore[attr-defined]
            return t, np_view(t)
        return None, np.empty(shape, np.float32)

    def _flash_attention_fwd(self, q: Tensor, k: Tensor, v: Tensor, spec: AttnSpec) -> tuple[Tensor, Tensor]:
        if q.dtype is _dt.f64:
            return _gen.flash_attention_fwd(self, q, k, v, spec)
        return self._cpu_fwd(q, k, v, spec, None)

    def _flash_attention_fwd_alibi(
        self, q: Tensor, k: Tensor, v: Tensor, slopes: Tensor, spec: AttnSpec
    ) -> tuple[Tensor, Tensor]:
        if q.dtype is _dt.f64:
            return _gen.flash_attention_fwd(self, q, k, v, spec, slopes)
        return self._cpu_fwd(q, k, v, spec, _stage(slopes, np.dtype(np.float32)))

    def _cpu_fwd(
        self, q: Tensor, k: Tensor, v: Tensor, spec: AttnSpec, slopes: np.ndarray | None
    ) -> tuple[Tensor, Tensor]:
        wd = np.dtype(np.float32)
        b, h, sq, d = q.shape
        qa, ka, va = _stage(q, wd), _stage(k, wd), _stage(v, wd)
        if sq == 1 and slopes is None:
            out, lse = self._cpu_flash_decode(qa.reshape(b, h, d), ka, va, spec, wd)
            return _emit(out.reshape(b, h, 1, d), q.dtype, self), _emit(lse.reshape(b, h, 1), _dt.f32, self)
        out_t, out = self._cpu_out((b, h, sq, d), q.dtype)
        lse_t, lse = self._cpu_out((b, h, sq), _dt.f32)
        if out.size:
            bq, bk = fwd_tiles(sq)
            sl = _NO_SLOPES if slopes is None else slopes
            seqs, strides = dense_rows(b, h, k.shape[1], sq, k.shape[2], spec.kv_len)
            flash_fwd(
                qa.reshape(-1, d), ka.reshape(-1, d), va.reshape(-1, d), out.reshape(-1, d), lse.reshape(-1), seqs,
                strides, h, k.shape[1], wd.type(spec.scale), spec.limited, spec.window, sl, slopes is not None, bq, bk,
            )  # fmt: skip
        assert lse_t is not None  # f32: the kernel wrote into the tensor itself
        return (_emit(out, q.dtype, self) if out_t is None else out_t), lse_t

    def _cpu_flash_decode(
        self, qa: np.ndarray, ka: np.ndarray, va: np.ndarray, spec: AttnSpec, wd: np.dtype
    ) -> tuple[np.ndarray, np.ndarray]:
        b, h, d = qa.shape
        hkv = ka.shape[1]
        jlo, jhi = spec.key_range(0, 1, 1)
        n = jhi - jlo
        if n <= 0 or b * h == 0:
            return np.zeros((b, h, d), wd), np.full((b, h), -np.inf, wd)
        # enough chunks to keep every thread busy, none shorter than DECODE_MIN_CHUNK keys
        want = max(1, -(-32 * numba.get_num_threads() // max(1, b * hkv)))
        g = h // hkv
        chunk = min(max(DECODE_MIN_CHUNK, -(-n // want)), max(8, GEMM_MNK // (g * d)))
        nch = -(-n // chunk)
        pm = np.empty((b, h, nch), wd)
        pl = np.empty((b, h, nch), wd)
        pacc = np.empty((b, h, nch, d), wd)
        flash_decode_partials(
            qa,
            ka.reshape(-1, d),
            va.reshape(-1, d),
            hkv,
            ka.shape[2],
            pm,
            pl,
            pacc,
            wd.type(spec.scale),
            jlo,
            jhi,
            chunk,
        )
        out = np.empty((b, h, d), wd)
        lse = np.empty((b, h), wd)
        flash_decode_combine(pm, pl, pacc, out, lse)
        return out, lse

    def _flash_attention_bwd(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, spec: AttnSpec
    ) -> tuple[Tensor, Tensor, Tensor]:
        if q.dtype is _dt.f64:
            return _gen_bwd.flash_attention_bwd(self, dout, q, k, v, out, lse, spec)
        return self._cpu_bwd(dout, q, k, v, out, lse, spec, None)

    def _flash_attention_bwd_alibi(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, slopes: Tensor, spec: AttnSpec
    ) -> tuple[Tensor, Tensor, Tensor]:
        if q.dtype is _dt.f64:
            return _gen_bwd.flash_attention_bwd(self, dout, q, k, v, out, lse, spec, slopes)
        return self._cpu_bwd(dout, q, k, v, out, lse, spec, _stage(slopes, np.dtype(np.float32)))

    def _cpu_bwd(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, spec: AttnSpec,
        slopes: np.ndarray | None,
    ) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
        wd = np.dtype(np.float32)
        b, h, sq, d = q.shape
        hkv, sk = k.shape[1], k.shape[2]
        dp_ = -(-d // 32) * 32  # the kernel's D: a multiple of its 32-column blocks (80 -> 96)
        pad = ((0, 0),) * 3 + ((0, dp_ - d),)
        qa = np_view(q).astype(wd) * wd.type(spec.scale)
        qa, ka, va, doa = (
            np.ascontiguousarray(np.pad(a, pad) if dp_ != d else a, dtype=wd)
            for a in (qa, np_view(k), np_view(v), np_view(dout))
        )
        dk = np.zeros((b, hkv, sk, dp_), wd)
        dv = np.zeros((b, hkv, sk, dp_), wd)
        dq = np.zeros((b, h, sq, dp_), wd)
        if qa.size and ka.size and spec.kv_len:
            delta = np.einsum("bhsd,bhsd->bhs", _stage(dout, wd), _stage(out, wd))
            la = _stage(lse, wd)
            la = np.where(la == -np.inf, np.inf, la).astype(wd)
            bq, bk = bwd_tiles(sq)
            nkb = -(-spec.kv_len // bk)
            nsplit = max(1, min(nkb, -(-2 * numba.get_num_threads() // (b * hkv))))
            part = np.zeros((nsplit, b * h * sq, dp_), wd)
            sl = _NO_SLOPES if slopes is None else slopes
            flash_bwd(
                qa.reshape(-1, dp_), ka.reshape(-1, dp_), va.reshape(-1, dp_), doa.reshape(-1, dp_), la, delta,
                part, dk, dv, spec.limited, spec.window, spec.kv_len, sl, slopes is not None, bq, bk, nsplit,
            )  # fmt: skip
            dq = (part[0] if nsplit == 1 else part.sum(0)).reshape(b, h, sq, dp_) * wd.type(spec.scale)
        if dp_ != d:
            dq, dk, dv = dq[..., :d], dk[..., :d], dv[..., :d]
        return _emit(dq, q.dtype, self), _emit(dk, k.dtype, self), _emit(dv, v.dtype, self)
