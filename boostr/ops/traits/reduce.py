"""Reductions over any dims (sum, mean, prod, max, min, argmax, argmin, any, all,
var, std, logsumexp) and row ops along one dim (softmax, log_softmax, cumsum).

Layout: ``dim=None`` reduces every dim; ``keepdim`` keeps reduced dims as size 1.
The reduced dims are moved last and the hook sees a contiguous ``[R, C]``.
"""

from __future__ import annotations

from ... import dtype as _dt
from ...errors import InvalidArgument
from ...tensor import Tensor, _contiguous_view, normalize_dim
from ._base import TraitBase
from ._util import last_dim_rows, move_to_rows, normalize_dims, rows_back

Dims = int | tuple[int, ...] | list[int] | None
_MAX_PLANS = 4096  # ClientBase._op_plans is cleared when it reaches this many entries


class ReduceOps(TraitBase):
    """Reductions and row-wise ops."""

    def _reduce(self, op: str, x: Tensor, dim: Dims, keepdim: bool) -> Tensor:
        # hot path: a contiguous x of a (dtype, shape, dim, keepdim) seen before reduces its
        # trailing dims as an [R, C] view (the plan is stored by _reduce_checked)
        if type(x) is Tensor and x.client is self and (dim is None or type(dim) is int) and type(keepdim) is bool:
            plan = self._op_plans.get((op, x.dtype.name, x.shape, dim, keepdim))
            if plan is not None and x.is_contiguous():
                cast_dt, out_dt, r, c, out_shape = plan
                if cast_dt is not None:
                    x = self.cast(x, cast_dt)
                out = self._new((r,), out_dt)
                self._k_reduce(op, _contiguous_view(x._storage, (r, c), x.offset, x.dtype, self), out)
                return _contiguous_view(out._storage, out_shape, 0, out_dt, self)
        return self._reduce_checked(op, x, dim, keepdim)

    def _reduce_checked(self, op: str, x: Tensor, dim: Dims, keepdim: bool) -> Tensor:
        """``_reduce`` with every check; stores a plan for the hot path when one applies."""
        self._check_tensor("x", x)
        x_in = x
        dims = normalize_dims(dim, x.ndim)
        if op in ("any", "all"):
            x = self.cast(x, _dt.bool_)
            out_dt = _dt.bool_
        elif op in ("argmax", "argmin"):
            out_dt = self.default_int
        elif op in ("sum", "prod") and not x.dtype.is_float:
            x = self.cast(x, self.default_int)
            out_dt = self.default_int
        else:
            out_dt = x.dtype
        if op not in ("any", "all") and not (op in ("max", "min") and x.dtype.kind == "b"):
            self._check_compute(op, x.dtype)
        x2, kept = move_to_rows(x, dims)
        out_shape = list(kept)
        if keepdim:
            out_shape = [1 if d in dims else x.shape[d] for d in range(x.ndim)]
        out = self._new((x2.shape[0],), out_dt)
        if x2.shape[1] == 0:
            if op in ("max", "min", "argmax", "argmin"):
                raise InvalidArgument("x", f"{op} over an empty dim is undefined (shape {x.shape}, dim {dim})")
            if out.numel:
                self._k_fill(out, {"sum": 0, "prod": 1, "any": False, "all": True}[op])
        elif out.numel:
            self._k_reduce(op, x2, out)
            trailing = dims == tuple(range(x.ndim - len(dims), x.ndim))
            if trailing and x_in.is_contiguous() and (dim is None or type(dim) is int) and type(keepdim) is bool:
                plan = (x.dtype if x is not x_in else None, out_dt, x2.shape[0], x2.shape[1], tuple(out_shape))
                if len(self._op_plans) >= _MAX_PLANS:
                    self._op_plans.clear()
                self._op_plans[(op, x_in.dtype.name, x_in.shape, dim, keepdim)] = plan
        return out.reshape(*out_shape)

    def sum(self, x: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Sum (ints and bools accumulate in the default int dtype; halves in f32)."""
        return self._reduce("sum", x, dim, keepdim)

    def prod(self, x: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
        return self._reduce("prod", x, dim, keepdim)

    def max(self, x: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Largest values (NaN propagates); use ``argmax`` for positions."""
        return self._reduce("max", x, dim, keepdim)

    def min(self, x: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
        return self._reduce("min", x, dim, keepdim)

    def _arg(self, op: str, x: Tensor, dim: int | None, keepdim: bool) -> Tensor:
        if dim is None:
            out = self._reduce(op, x.reshape(-1) if x.numel else x.reshape(0), 0, False)
            return out.reshape(*([1] * x.ndim)) if keepdim else out
        if not isinstance(dim, int):
            raise InvalidArgument("dim", f"expected an int or None, received {dim!r}")
        return self._reduce(op, x, dim, keepdim)

    def argmax(self, x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the first maximum along ``dim`` (of the flattened tensor when None)."""
        return self._arg("argmax", x, dim, keepdim)

    def argmin(self, x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg("argmin", x, dim, keepdim)

    def any(self, x: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
        return self._reduce("any", x, dim, keepdim)

    def all(self, x: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
        return self._reduce("all", x, dim, keepdim)

    def _float_input(self, x: Tensor, op: str) -> Tensor:
        self._check_tensor("x", x)
        if x.dtype.is_float:
            self._check_compute(op, x.dtype)
            return x
        return self.cast(x, _dt.f32)

    def mean(self, x: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Arithmetic mean (integer inputs give f32)."""
        x = self._float_input(x, "mean")
        n = 1
        for d in normalize_dims(dim, x.ndim):
            n *= x.shape[d]
        s = self.sum(x, dim, keepdim)
        return self.mul(s, 1.0 / n) if n else self.full_like(s, float("nan"))

    def var(self, x: Tensor, dim: Dims = None, keepdim: bool = False, correction: int = 1) -> Tensor:
        """Variance with ``correction`` (1 = unbiased, Bessel) computed in two passes."""
        x = self._float_input(x, "var")
        n = 1
        for d in normalize_dims(dim, x.ndim):
            n *= x.shape[d]
        xf = self.cast(x, _dt.f32) if x.dtype.is_half else x
        centered = self.sub(xf, self.mean(xf, dim, keepdim=True))
        ss = self.sum(self.mul(centered, centered), dim, keepdim)
        v = self.div(ss, float(max(n - correction, 0))) if n - correction > 0 else self.full_like(ss, float("nan"))
        return self.cast(v, x.dtype)

    def std(self, x: Tensor, dim: Dims = None, keepdim: bool = False, correction: int = 1) -> Tensor:
        return self.sqrt(self.var(x, dim, keepdim, correction))

    def logsumexp(self, x: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """``log(sum(exp(x)))`` computed stably around the max (rows of all -inf give -inf)."""
        x = self._float_input(x, "logsumexp")
        xf = self.cast(x, _dt.f32) if x.dtype.is_half else x
        m = self.max(xf, dim, keepdim=True)
        m = self.where(self.eq(self.abs(m), float("inf")), 0.0, m)
        s = self.log(self.sum(self.exp(self.sub(xf, m)), dim, keepdim=True))
        out = self.add(s, m)
        if not keepdim:
            dims = normalize_dims(dim, x.ndim)
            out = out.reshape(*[n for d, n in enumerate(out.shape) if d not in dims])
        return self.cast(out, x.dtype)

    # ------------------------------------------------------------- row ops
    def _rowwise(self, x: Tensor, dim: int, name: str) -> tuple[Tensor, list[int]]:
        self._check_tensor("x", x)
        if x.ndim:
            normalize_dim(dim, x.ndim)
        if not x.dtype.is_float:
            raise InvalidArgument("x", f"{name} expects a float tensor, received {x.dtype}")
        self._check_compute(name, x.dtype)
        return last_dim_rows(x, dim)

    def _softmax(self, x: Tensor, dim: int, log: bool) -> Tensor:
        x2, pshape = self._rowwise(x, dim, "log_softmax" if log else "softmax")
        out = self._new(x2.shape, x.dtype)
        if out.numel:
            self._k_softmax(x2, out, log)
        return rows_back(out, pshape, dim, x.ndim).contiguous()

    def softmax(self, x: Tensor, dim: int = -1) -> Tensor:
        """Numerically stable softmax along ``dim`` (one fused pass per row)."""
        return self._softmax(x, dim, False)

    def log_softmax(self, x: Tensor, dim: int = -1) -> Tensor:
        return self._softmax(x, dim, True)

    def cumsum(self, x: Tensor, dim: int) -> Tensor:
        """Inclusive prefix sum along ``dim`` (ints and bools accumulate in the default int)."""
        self._check_tensor("x", x)
        if x.ndim:
            normalize_dim(dim, x.ndim)
        if not x.dtype.is_float:
            x = self.cast(x, self.default_int)
        self._check_compute("cumsum", x.dtype)
        x2, pshape = last_dim_rows(x, dim)
        out = self._new(x2.shape, x.dtype)
        if out.numel:
            self._k_cumsum(x2, out)
        return rows_back(out, pshape, dim, x.ndim).contiguous()
