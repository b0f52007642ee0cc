"""wgpu rms_norm / layer_norm / add_rms_norm: ``kernels/wgsl/norm/norm.wgsl``, one workgroup per row
(vec4 loads when C % 4 == 0 and every view is aligned; subgroup row sums where offered)."""

from __future__ import annotations

from typing import Any

from ...dtype import DType
from ...tensor import Tensor
from ._kern import aligned4, decl_v, f32_word, kernel, launch, meta, planned, range_chunks, sg_tmpl, window
from .reduce import _dummy


def _norm(client: Any, mode: int, x: Tensor, res: Tensor | None, w: Tensor | None, b: Tensor | None, eps: float,
          out: Tensor, so: Tensor | None) -> None:  # fmt: skip
    ts = [t for t in (x, res, w, b, out, so) if t is not None]
    present = (res is not None, w is not None, b is not None, so is not None)
    key = ("norm", mode, f32_word(eps), present, *[meta(t) for t in ts])
    planned(client, key, ts, lambda: _norm_build(client, mode, x, res, w, b, eps, out, so))


def _norm_build(client: Any, mode: int, x: Tensor, res: Tensor | None, w: Tensor | None, b: Tensor | None,
                eps: float, out: Tensor, so: Tensor | None) -> None:  # fmt: skip
    rows, cols = x.shape
    ins = [x, w if w is not None else _dummy(client, 0), b if b is not None else _dummy(client, 1),
           res if res is not None else _dummy(client, 2), out, so if so is not None else _dummy(client, 3)]  # fmt: skip
    names = ("x", "w", "b", "res", "out", "so")
    # unused (dummy) bindings are declared with x's dtype so the shader type-checks
    dts = [x.dtype, x.dtype, x.dtype, x.dtype, out.dtype, out.dtype]
    real = [t for t in (x, res, w, b, out, so) if t is not None]
    vec = cols % 4 == 0 and all(aligned4(t) for t in real) and not any(t.storage.big for t in real)
    decls = "\n".join(decl_v(n, i, dt, "f32", vec, "w" if i >= 4 else "r") for i, (n, dt) in enumerate(zip(names, dts)))
    k = kernel(client, "wgsl/norm/norm.wgsl", "main", "rrrrww", decls, MODE=mode, VEC=str(vec).lower(),
               **sg_tmpl(client))  # fmt: skip
    per_row = {0, 3, 4, 5}

    def spans(r0: int, r1: int) -> list[tuple[Any, DType, int, int]]:
        sp = []
        for i, t in enumerate(ins):
            if i in per_row or (i == 3 and res is not None):
                sp.append((t.storage, t.dtype, t.offset + r0 * cols, t.offset + r1 * cols))
            else:
                sp.append((t.storage, t.dtype, t.offset, t.offset + max(1, min(cols, t.numel))))
        return sp

    for r0, r1 in range_chunks(client, rows, spans):
        binds = [window(client, *s) for s in spans(r0, r1)]
        off = [t.offset - base for t, (_, base) in zip(ins, binds)]
        words = [r0, cols, off[0], off[4], r1 - r0, f32_word(eps), int(w is not None), int(b is not None),
                 off[1], off[2], off[3], off[5]]  # fmt: skip
        launch(client, k, [bb for bb, _ in binds], words, r1 - r0)


class WgpuNorm:
    def _k_rms_norm(self, x: Tensor, weight: Tensor | None, eps: float, out: Tensor) -> None:
        _norm(self, 0, x, None, weight, None, eps, out, None)

    def _k_layer_norm(self, x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float, out: Tensor) -> None:
        _norm(self, 1, x, None, weight, bias, eps, out, None)

    def _k_add_rms_norm(
        self, x: Tensor, residual: Tensor, weight: Tensor | None, eps: float, out: Tensor, sum_out: Tensor
    ) -> None:
        _norm(self, 2, x, residual, weight, None, eps, out, sum_out)
