"""CUDA row reductions, softmax and cumsum (rows of a contiguous ``[R, C]``).

Reductions use one block per row, or for few long rows a split: S blocks per row write
(value, index) partials that a second launch folds (``kernels/cuda/reduce/reduce.cu``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import dtype as _dt
from ...runtime.cuda.kernels import dptr, signature
from ...runtime.hooks import REDUCE_OPS
from ...tensor import Tensor
from ._util import CTYPE, CudaHookBase, acc_params, aligned16, next_pow2, remember

_OPS = {op: i for i, op in enumerate(REDUCE_OPS)}
# accumulator (C type, numpy dtype) per input dtype
_ACC: dict[_dt.DType, tuple[str, type]] = {
    _dt.f64: ("double", np.float64), _dt.f32: ("float", np.float32), _dt.f16: ("float", np.float32),
    _dt.bf16: ("float", np.float32), _dt.i64: ("i64", np.int64), _dt.i32: ("int", np.int32),
    _dt.i16: ("int", np.int32), _dt.i8: ("int", np.int32), _dt.u8: ("int", np.int32),
    _dt.u32: ("unsigned int", np.uint32), _dt.bool_: ("int", np.int32),
}  # fmt: skip
_SPLIT_MIN_COLS = 16384
_SIG_ROWS = signature("ppppiiii")  # x, out, partial values, partial indices, c, chunk, splits, op
_SIG_SOFTMAX = signature("ppiiii")  # out, x, c, log, cache, vec
SMEM_CACHE_BYTES = 48 * 1024


def row_launch(c: int, itemsize: int, acc_size: int, vec: bool) -> tuple[int, int, bool]:
    """(threads, dynamic shared bytes, cache) for the one-block-per-row kernels."""
    per = (16 // itemsize) if vec else 1
    threads = next_pow2(-(-c // per))
    cache = c * acc_size <= SMEM_CACHE_BYTES
    return threads, c * acc_size if cache else 0, cache


def row_plan(hook: CudaHookBase, rel: str, stem: str, dt: _dt.DType, c: int, vec: bool) -> tuple[Any, int, int, int]:
    """(kernel ``<stem>_rows_<dtype>`` of ``rel``, threads, dynamic shared bytes, cache flag) of a
    one-block-per-row kernel over rows of ``c`` elements, remembered in ``hook._plans``."""
    key = (stem, dt.name, c, vec)
    plan = hook._plans.get(key)
    if plan is None:
        threads, shared, cache = row_launch(c, dt.itemsize, 8 if dt is _dt.f64 else 4, vec)
        fn = hook.kernels.function(rel, f"{stem}_rows_{dt.name}", acc_params(dt))
        plan = remember(hook._plans, key, (fn, threads, shared, int(cache)))
    return plan  # type: ignore[no-any-return]


class CudaReduce(CudaHookBase):
    def _k_reduce(self, op: str, x: Tensor, out: Tensor) -> None:
        r, c = x.shape
        dt = x.dtype
        opi = _OPS[op]
        key = ("reduce_rows", dt.name, r, c)
        plan = self._plans.get(key)
        if plan is None:
            plan = remember(self._plans, key, self._reduce_plan(dt, r, c))
        if plan[0] is not None:  # one block per row
            self._launch_packed(plan[0], r, plan[1], 0, _SIG_ROWS, dptr(x), dptr(out), 0, 0, c, c, 1, opi)
            return
        s = plan[1]
        acc, acc_np = _ACC[dt]
        params = (("T", CTYPE[dt]), ("N", dt.name), ("R", acc))
        rel = "cuda/reduce/reduce.cu"
        if r == 1 and s > 1 and op == "sum" and dt in (_dt.f32, _dt.f64):
            # one long row: CuPy's full 1-D sum is CUB's device-wide reduction at full bandwidth
            # (``axis=1, out=...`` on [1, C] took CuPy's one-block-per-row kernel: 86x slower)
            with self._scope():
                self._cp_view(out)[...] = self.cp.sum(self._cp_view(x).reshape(-1))
            return
        chunk = -(-c // s)
        s = -(-c // chunk)
        cp = self.cp
        with self._scope():
            pv = cp.empty(r * s, dtype=acc_np)
            pi = cp.empty(r * s, dtype=np.int64)
        pvp, pip = pv.data.ptr, pi.data.ptr
        self._launch(rel, f"reduce_rows_{dt.name}", params, r * s, 512, [x, out, pvp, pip, c, chunk, s, opi])
        self._launch(rel, f"reduce_partials_{dt.name}", params, r, next_pow2(s, hi=512),
                     [pvp, pip, out, s, opi])  # fmt: skip

    def _reduce_plan(self, dt: _dt.DType, r: int, c: int) -> tuple[Any, int]:
        """(kernel, threads) for one block per row, or (None, S) when S blocks per row split it."""
        s = 1
        if r < 2 * self.sm_count and c > _SPLIT_MIN_COLS:
            s = min(-(-c // 4096), -(-4 * self.sm_count // r))
        if s > 1:
            return None, s
        acc = _ACC[dt][0]
        params = (("T", CTYPE[dt]), ("N", dt.name), ("R", acc))
        return self.kernels.function("cuda/reduce/reduce.cu", f"reduce_rows_{dt.name}", params), next_pow2(c, hi=256)

    def _k_softmax(self, x: Tensor, out: Tensor, log: bool) -> None:
        r, c = x.shape
        vec = c % (16 // x.dtype.itemsize) == 0 and aligned16(x, out)
        fn, threads, shared, cache = row_plan(self, "cuda/reduce/softmax.cu", "softmax", x.dtype, c, vec)
        self._launch_packed(fn, r, threads, shared, _SIG_SOFTMAX, dptr(out), dptr(x), c, int(log), cache, int(vec))

    def _k_cumsum(self, x: Tensor, out: Tensor) -> None:
        if out.dtype is not x.dtype:
            x = self.cast(x, out.dtype)
        r, c = x.shape
        dt = out.dtype
        acc = "double" if dt is _dt.f64 else ("float" if dt.is_float else "i64")
        params = (("T", CTYPE[dt]), ("N", dt.name), ("A", acc))
        self._launch("cuda/reduce/cumsum.cu", f"cumsum_rows_{dt.name}", params, r, next_pow2(-(-c // 8)), [out, x, c])
