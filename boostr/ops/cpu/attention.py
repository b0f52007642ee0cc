"""CPU flash attention: numba kernels of ``boostr/kernels/cpu/attention*.py``.

Inputs are staged as C-contiguous f32 arrays (f16/bf16 widened), the kernels accumulate
in f32 and the results are rounded into q's (k's, v's) dtype. Sq == 1 takes the
flash-decoding kernels (keys split in chunks across threads). The forward kernel's exp is
f32-only, so f64 attention (forward and backward) runs the generic composite in f64.
"""

from __future__ import annotations

import numba
import numpy as np

from ... import dtype as _dt
from ...kernels.cpu.attention import GEMM_MNK, flash_decode_combine, flash_decode_partials, flash_fwd, tile_sizes
from ...kernels.cpu.attention_bwd import flash_bwd_dkdv, flash_bwd_dq
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


class CpuAttention:
    """Overrides of the attention trait's backend methods."""

    def _flash_attention_fwd(self, q: Tensor, k: Tensor, v: Tensor, spec: AttnSpec) -> tuple[Tensor, Tensor]:
        if q.dtype is _dt.f64:
            return _gen.flash_attention_fwd(self, q, k, v, spec)
        wd = np.dtype(np.float32)
        b, h, sq, d = q.shape
        qa, ka, va = _stage(q, wd), _stage(k, wd), _stage(v, wd)
        if sq == 1:
            out, lse = self._cpu_flash_decode(qa.reshape(b, h, d), ka, va, spec, wd)
            return _emit(out.reshape(b, h, 1, d), q.dtype, self), _emit(lse.reshape(b, h, 1), _dt.f32, self)
        out = np.empty((b, h, sq, d), wd)
        lse = np.empty((b, h, sq), wd)
        if out.size:
            bq, bk = tile_sizes(d)
            flash_fwd(
                qa,
                ka.reshape(-1, d),
                va.reshape(-1, d),
                k.shape[1],
                k.shape[2],
                out,
                lse,
                wd.type(spec.scale),
                spec.limited,
                spec.window,
                spec.kv_len,
                bq,
                bk,
            )
        return _emit(out, q.dtype, self), _emit(lse, _dt.f32, self)

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
        wd = np.dtype(np.float32)
        d = q.shape[3]
        hkv, sk = k.shape[1], k.shape[2]
        qa, ka, va = _stage(q, wd), _stage(k, wd), _stage(v, wd)
        doa, oa, la = _stage(dout, wd), _stage(out, wd), _stage(lse, wd)
        dq = np.zeros(qa.shape, wd)
        dk = np.zeros(ka.shape, wd)
        dv = np.zeros(va.shape, wd)
        if qa.size and ka.size:
            delta = np.einsum("bhsd,bhsd->bhs", doa, oa)
            bq, bk = tile_sizes(d)
            opts = (wd.type(spec.scale), spec.limited, spec.window, spec.kv_len, bq, bk)
            flat = (qa.reshape(-1, d), ka.reshape(-1, d), va.reshape(-1, d), doa.reshape(-1, d), la, delta)
            flash_bwd_dkdv(*flat, dk, dv, *opts)
            flash_bwd_dq(*flat, dq, hkv, sk, *opts)
        return _emit(dq, q.dtype, self), _emit(dk, k.dtype, self), _emit(dv, v.dtype, self)
