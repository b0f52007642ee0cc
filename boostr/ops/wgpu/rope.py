"""wgpu RoPE forward/backward: ``kernels/wgsl/position/rope.wgsl``, one thread per rotated pair.

Position ids are clamped into the table on the device (the trait's GPU policy). Tensors larger
than one storage binding take the generic composite.
"""

from __future__ import annotations

from ... import dtype as _dt
from ...tensor import Tensor
from ..traits.rope import RoPEOps
from ._kern import decl, f32_word, kernel, launch
from .attention import fusable
from .reduce import _dummy


class WgpuRoPE(RoPEOps):
    """Override of the RoPE trait's backend hook (subclassing the trait keeps it ahead in the MRO)."""

    def _apply_rope(
        self, x: Tensor, cos: Tensor, sin: Tensor, interleaved: bool, position_ids: Tensor | None, sign: float
    ) -> Tensor:
        pos = position_ids if position_ids is not None else _dummy(self, 0)
        limit = self.max_binding  # type: ignore[attr-defined]
        big = any(t.storage.buffer.size > limit for t in (x, cos, sin, pos)) or x.numel * x.dtype.itemsize > limit
        if big or not fusable(self, (x, cos, sin)):
            return super()._apply_rope(x, cos, sin, interleaved, position_ids, sign)
        out = self._new(x.shape, x.dtype)  # type: ignore[attr-defined]
        ts = (x, cos, sin, pos, out)
        b, h, s, d = x.shape
        names = ("x", "cos", "sin", "pos", "out")
        dts = (x.dtype, cos.dtype, sin.dtype, _dt.i32, out.dtype)
        decls = "\n".join(decl(n, i, dt, "w" if n == "out" else "r") for i, (n, dt) in enumerate(zip(names, dts)))
        k = kernel(self, "wgsl/position/rope.wgsl", "main", "rrrrw", decls)
        mode = 0 if position_ids is None else (1 if position_ids.ndim == 1 else 2)
        n = b * h * s * (d // 2)
        words = [n, h, s, d // 2, x.offset, *x.strides, out.offset, cos.offset, *cos.strides, sin.offset,
                 *sin.strides, mode, pos.offset, cos.shape[0], int(interleaved), f32_word(sign)]  # fmt: skip
        launch(self, k, [(t.storage.buffer, 0, t.storage.buffer.size) for t in ts], words, -(-n // 256))
        return out
