"""wgpu packed (varlen) attention: every sequence in ONE dispatch of the fused flash kernels.

``flash_fwd.wgsl``, ``bwd_prep.wgsl``, ``flash_bwd_dq.wgsl`` and ``flash_bwd_dkdv.wgsl`` rendered with
``VARLEN``: a workgroup takes (sequence, KV head, row or key block) and finds its sequence's rows through
``cu_seqlens`` on the device (FlashAttention-2's ``flash_attn_varlen_func`` grid), so the packed
``[T, H, D]`` tensors are read in place: no per-sequence loop, no padding. The grid covers the longest
sequence (``max_q`` / ``max_k``); blocks past a shorter sequence return at once.

``cu_q ++ cu_k`` (host control data, validated by the trait) is uploaded once as i32 and kept per
client for the last few distinct packings, so a training step's forward and backward share one upload.
Causal masks are bottom-right aligned per sequence; a query with no key gets 0 and lse -inf.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ... import dtype as _dt
from ...tensor import Tensor
from ..generic.attention_mask import AttnSpec
from ..traits.varlen_attention import VarlenAttentionOps
from ._kern import decl, f32_word, launch
from .attention import Packed, _whole, bhsd, f32_slopes, fusable, fwd_tiles, kernel, run_bwd, stage_type, vec_bytes
from .reduce import _dummy

CU_CACHE = 16
MAX_EXACT = 1 << 24  # the backward keeps cu_seqlens as f32


def cu_tensor(client: Any, cu_q: list[int], cu_k: list[int]) -> Tensor:
    """The i32 ``cu_q ++ cu_k`` on the device (one upload per distinct packing, LRU of ``CU_CACHE``)."""
    cache: dict[tuple[int, ...], Tensor] = client.__dict__.setdefault("_varlen_cu", {})
    key = (*cu_q, -1, *cu_k)
    t = cache.pop(key, None)
    if t is None:
        t = client.from_numpy(np.array([*cu_q, *cu_k], np.int32), _dt.i32)
        while len(cache) >= CU_CACHE:
            cache.pop(next(iter(cache)))
    cache[key] = t
    return t


def _spec(causal: bool, window: int, scale: float) -> AttnSpec:
    """Per-sequence mask options (``kv_len`` is each sequence's key count, read in the kernels)."""
    return AttnSpec(causal, window, 0, scale)


def _lens(cu: list[int]) -> int:
    return max((b - a for a, b in itertools.pairwise(cu)), default=0)


def run_varlen_fwd(client: Any, q: Tensor, k: Tensor, v: Tensor, cu_q: list[int], cu_k: list[int], causal: bool,
                   scale: float, window: int = 0,
                   slopes: Tensor | None = None) -> tuple[Tensor, Tensor] | None:  # fmt: skip
    """Fused forward over all sequences: ``(out [Tq, H, D], lse [H, Tq])``, or None if a buffer cannot be
    bound whole (the caller runs the generic). ``window`` and ALiBi ``slopes [H]`` as in flash attention."""
    tq, h, d = q.shape
    hkv, seqs = k.shape[1], len(cu_q) - 1
    g = h // hkv
    cfg = fwd_tiles(d, _lens(cu_q) * g, vec_bytes(q.dtype, client), client.limits["max-compute-workgroup-storage-size"])
    nqb = -(-(_lens(cu_q) * g) // cfg["BR"])
    spec = _spec(causal, window, scale)
    out, lse = client._new(q.shape, q.dtype), client._new((h, tq), _dt.f32)
    cu = cu_tensor(client, cu_q, cu_k)
    sl = f32_slopes(client, slopes) if slopes is not None else _dummy(client, 1)
    tens = (q, k, v, out, lse, cu, sl)
    binds = _whole(client, tens)
    if binds is None:
        return None
    dts = (q.dtype, k.dtype, v.dtype, out.dtype, _dt.f32, _dt.i32, _dt.i32)
    decls = "\n".join(decl(n, i, dt, "w" if i in (3, 4) else "r")
                      for i, (n, dt) in enumerate(zip(("q", "k", "v", "out", "aux", "tab", "lens"), dts)))  # fmt: skip
    kern = kernel(client, "wgsl/attention/flash_fwd.wgsl", "main", "rrrwwrr", decls, ST=stage_type(q.dtype, client),
                  SPLIT="false", PAGED="false", ALIBI=str(slopes is not None).lower(), VARLEN="true",
                  **cfg)  # fmt: skip
    groups = seqs * hkv * nqb
    words = [seqs, h, hkv, _lens(cu_q), _lens(cu_k), 0, int(spec.limited), window, f32_word(scale * 1.4426950408889634),
             nqb, 0, groups, 1, 0, *bhsd(q), *bhsd(k), *bhsd(v), out.offset, lse.offset, 0, 1, 1, 1,
             cu.offset, sl.offset, 0, cu.offset + seqs + 1, tq]  # fmt: skip
    launch(client, kern, binds, words, groups)
    return out, lse


def run_varlen_bwd(client: Any, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor,
                   cu_q: list[int], cu_k: list[int], causal: bool, scale: float, window: int = 0,
                   slopes: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor] | None:  # fmt: skip
    """Fused backward over all sequences (prep, dQ, dK/dV: three dispatches), or None (run the generic)."""
    if max(q.shape[0], k.shape[0]) >= MAX_EXACT:
        return None
    packed = Packed(cu_tensor(client, cu_q, cu_k), len(cu_q) - 1, _lens(cu_q), _lens(cu_k))
    sl = f32_slopes(client, slopes) if slopes is not None else None
    return run_bwd(client, dout, q, k, v, out, lse, _spec(causal, window, scale), sl, packed)


class WgpuVarlenAttention(VarlenAttentionOps):
    """Overrides of the varlen trait's backend hooks (subclassing the trait keeps this mixin ahead of it)."""

    def _varlen_attention_fwd(
        self, q: Tensor, k: Tensor, v: Tensor, cu_q: list[int], cu_k: list[int], causal: bool, scale: float
    ) -> tuple[Tensor, Tensor]:
        if q.numel and not k.numel and fusable(self, (q,)):  # no key anywhere: 0 and -inf
            return self.zeros(*q.shape, dtype=q.dtype), self.full((q.shape[1], q.shape[0]), float("-inf"), _dt.f32)
        if fusable(self, (q, k, v)):
            res = run_varlen_fwd(self, q, k, v, cu_q, cu_k, causal, scale)
            if res is not None:
                return res
        return super()._varlen_attention_fwd(q, k, v, cu_q, cu_k, causal, scale)

    def _varlen_attention_bwd(
        self, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, cu_q: list[int],
        cu_k: list[int], causal: bool, scale: float,
    ) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
        if fusable(self, (dout, q, k, v, out)) and lse.numel and lse.dtype.is_float:
            res = run_varlen_bwd(self, dout, q, k, v, out, lse, cu_q, cu_k, causal, scale)
            if res is not None:
                return res
        return super()._varlen_attention_bwd(dout, q, k, v, out, lse, cu_q, cu_k, causal, scale)
