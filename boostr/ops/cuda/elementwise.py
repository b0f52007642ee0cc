"""CUDA elementwise hooks: one templated kernel file per family (``kernels/cuda/elementwise``),
a contiguous fast path and a strided path (broadcast = stride 0) for every op."""

from __future__ import annotations

from typing import Any

from ...runtime.cuda.kernels import dptr, flat_grid, signature
from ...runtime.hooks import BINARY_OPS, UNARY_OPS
from ...tensor import Tensor
from ._util import STORAGE_NP, CudaHookBase, contiguous, layout, remember, scalar_bits, t_params

_UNARY = {op: i for i, op in enumerate(UNARY_OPS)}
_BINARY = {op: i for i, op in enumerate(BINARY_OPS)}
_ZEROS = (0,) * 64
_SIG_UNARY = signature("ppii")  # out, x, n, op
_SIG_BINARY = signature("pppfiiii")  # out, a, b, b as float, b as int, mode, n, op
# tensor-tensor ops that CuPy's own ufuncs compute identically on native dtypes (one rounding,
# integer wraparound): used for contiguous operands, where CuPy's kernel and launch path win
_NATIVE = frozenset(d for d, nd in STORAGE_NP.items() if nd == d.np_dtype and d.kind != "b")
_CUPY_BINARY = {"add": "add", "sub": "subtract", "mul": "multiply"}


CUPY_MIN_NUMEL = 1 << 20
"""Contiguous same-dtype binary ops of at least this many elements go to CuPy's ufuncs (bandwidth);
smaller ones to boostr's own kernel, whose launch costs a fraction of a CuPy ufunc call."""


def _flat(t: Tensor) -> Any:
    """A 1-D CuPy view of a contiguous tensor's elements."""
    st = t.storage
    n = t.numel
    return st if t.offset == 0 and st.size == n else st[t.offset : t.offset + n]


class CudaElementwise(CudaHookBase):
    def _k_unary(self, op: str, x: Tensor, out: Tensor) -> None:
        n = out.numel
        name = x.dtype.name
        rel = "cuda/elementwise/unary.cu"
        if x.is_contiguous():
            key = ("unary_contig", name)
            kfn = self._plans.get(key)
            if kfn is None:
                kfn = remember(self._plans, key, self.kernels.function(rel, f"unary_contig_{name}", t_params(x.dtype)))
            self._launch_packed(kfn, flat_grid(n), 256, 0, _SIG_UNARY, dptr(out), dptr(x), n, _UNARY[op])
        else:
            lay = layout(x.shape, [x.strides])
            self._launch_flat(rel, f"unary_strided_{name}", t_params(x.dtype), n, [out, x, n, _UNARY[op], lay])

    def _k_binary(self, op: str, a: Tensor, b: Any, out: Tensor, swap: bool = False) -> None:
        n = out.numel
        dt = a.dtype
        bt = b if isinstance(b, Tensor) else None
        mode = 0 if bt is not None else (2 if swap else 1)
        isf = dt.kind == "f"
        bsf = float(b) if bt is None and isf else 0.0
        bsi = int(b) if bt is None and not isf else 0
        rel = "cuda/elementwise/binary.cu"
        if bt is not None and n >= CUPY_MIN_NUMEL and op in _CUPY_BINARY and dt in _NATIVE and contiguous(a, bt):
            fn = getattr(self.cp, _CUPY_BINARY[op])
            if self._multi:
                with self._device:
                    fn(_flat(a), _flat(bt), out=_flat(out))
            else:
                fn(_flat(a), _flat(bt), out=_flat(out))
            return
        if a.is_contiguous() and (bt is None or bt.is_contiguous()):
            key = ("binary_contig", dt.name)
            kfn = self._plans.get(key)
            if kfn is None:
                kfn = remember(self._plans, key, self.kernels.function(rel, f"binary_contig_{dt.name}", t_params(dt)))
            bp = 0 if bt is None else dptr(bt)
            self._launch_packed(kfn, flat_grid(n), 256, 0, _SIG_BINARY, dptr(out), dptr(a), bp, bsf, bsi, mode, n,
                                _BINARY[op])  # fmt: skip
        else:
            lay = layout(a.shape, [a.strides, bt.strides if bt is not None else _ZEROS[: a.ndim]])
            args = [out, a, bt, bsf, bsi, mode, n, _BINARY[op], lay]
            self._launch_flat(rel, f"binary_strided_{dt.name}", t_params(dt), n, args)

    def _k_where(self, cond: Tensor, a: Any, b: Any, out: Tensor) -> None:
        n = out.numel
        ta = a if isinstance(a, Tensor) else None
        tb = b if isinstance(b, Tensor) else None
        abits = 0 if ta is not None else scalar_bits(a, out.dtype)
        bbits = 0 if tb is not None else scalar_bits(b, out.dtype)
        mode = (ta is None) | ((tb is None) << 1)
        size = out.dtype.itemsize
        rel = "cuda/elementwise/where.cu"
        if contiguous(cond, ta, tb):
            self._launch_flat(rel, f"where_contig_b{size}", (), n, [out, cond, ta, tb, abits, bbits, mode, n])
        else:
            zeros = _ZEROS[: out.ndim]
            lay = layout(out.shape, [cond.strides, ta.strides if ta is not None else zeros,
                                     tb.strides if tb is not None else zeros])  # fmt: skip
            self._launch_flat(rel, f"where_strided_b{size}", (), n, [out, cond, ta, tb, abits, bbits, mode, n, lay])

    def _k_fma(self, a: Tensor, b: Tensor, c: Tensor, out: Tensor) -> None:
        n = out.numel
        rel = "cuda/elementwise/ternary.cu"
        if contiguous(a, b, c):
            self._launch_flat(rel, f"fma_contig_{out.dtype.name}", t_params(out.dtype), n, [out, a, b, c, n])
        else:
            lay = layout(out.shape, [a.strides, b.strides, c.strides])
            self._launch_flat(rel, f"fma_strided_{out.dtype.name}", t_params(out.dtype), n, [out, a, b, c, n, lay])

    def _k_clamp(self, x: Tensor, lo: Any, hi: Any, out: Tensor) -> None:
        n = out.numel
        fl = x.dtype.is_float
        flags = (lo is not None) | ((hi is not None) << 1)
        bounds = [float(lo) if fl and lo is not None else 0.0, int(lo) if not fl and lo is not None else 0,
                  float(hi) if fl and hi is not None else 0.0, int(hi) if not fl and hi is not None else 0]  # fmt: skip
        rel = "cuda/elementwise/ternary.cu"
        if x.is_contiguous():
            self._launch_flat(rel, f"clamp_contig_{x.dtype.name}", t_params(x.dtype), n, [out, x, *bounds, flags, n])
        else:
            args = [out, x, *bounds, flags, n, layout(x.shape, [x.strides])]
            self._launch_flat(rel, f"clamp_strided_{x.dtype.name}", t_params(x.dtype), n, args)
