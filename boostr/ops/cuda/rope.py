"""CUDA RoPE: one fused pass (``kernels/cuda/position/rope.cu``), a thread per rotated pair, f32 math.

f32 / f16 / bf16 inputs with f32 tables take the kernel; f64 inputs or tables run the generic composite.
Position ids are clamped into the table (the GPU index policy), never checked on the host.
"""

from __future__ import annotations

import numpy as np

from ... import dtype as _dt
from ...runtime.cuda.kernels import KernelStruct
from ...tensor import Tensor
from ..generic import rope as _gen
from ..traits.rope import RoPEOps
from ._util import CudaHookBase, t_params

FUSED = (_dt.f32, _dt.f16, _dt.bf16)


class CudaRoPE(RoPEOps, CudaHookBase):
    """Override of the RoPE trait's backend hook (subclassing the trait keeps it ahead in the MRO)."""

    def _apply_rope(
        self, x: Tensor, cos: Tensor, sin: Tensor, interleaved: bool, position_ids: Tensor | None, sign: float
    ) -> Tensor:
        if x.dtype not in FUSED or cos.dtype is not _dt.f32 or sin.dtype is not _dt.f32:
            return _gen.apply_rope(self, x, cos, sin, interleaved, position_ids, sign)
        b, h, s, d = x.shape
        out = self._new(x.shape, x.dtype)
        if out.numel == 0:
            return out
        cos, sin = cos.contiguous(), sin.contiguous()
        pos, pos_b = None, 0
        if position_ids is not None:
            pos = position_ids if position_ids.dtype is _dt.i64 else self.cast(position_ids, _dt.i64)
            pos = pos.contiguous()
            pos_b = s if pos.ndim == 2 else 0
        xs = KernelStruct(np.array(x.strides, np.int64))
        total = b * h * s * (d // 2)
        args = [out, x, cos, sin, pos, b, h, s, d, xs, cos.shape[0], pos_b, int(interleaved), float(sign)]
        self._launch_flat("cuda/position/rope.cu", f"rope_{x.dtype.name}", t_params(x.dtype), total, args)
        return out
