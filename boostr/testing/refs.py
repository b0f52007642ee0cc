"""Float64 numpy references, written for clarity rather than speed.

Every function takes numpy arrays, computes in float64 (or exact integers) and
returns numpy arrays. Nothing here is copied from a backend kernel: the point
is an independent statement of what each op means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

F64 = np.float64


def f64(x: np.ndarray) -> np.ndarray:
    """``x`` as float64 (half and fp8 types widened exactly)."""
    return np.asarray(x).astype(F64)


def _rows(fn, x: np.ndarray, axis: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Apply ``fn(row) -> row`` (same length) along ``axis`` with a plain loop over rows."""
    x = np.moveaxis(f64(x), axis, -1)
    out = np.empty(x.shape, F64)
    flat_in = x.reshape(-1, x.shape[-1])
    flat_out = out.reshape(-1, x.shape[-1])
    for r in range(flat_in.shape[0]):
        flat_out[r] = fn(flat_in[r])
    return np.moveaxis(out, -1, axis)


# ------------------------------------------------------------------ unary math
def erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[F64])(f64(x)) if np.size(x) else f64(x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    x = f64(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def silu(x: np.ndarray) -> np.ndarray:
    return f64(x) * sigmoid(x)


def gelu_erf(x: np.ndarray) -> np.ndarray:
    x = f64(x)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    x = f64(x)
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))`` without overflow."""
    x = f64(x)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(f64(x), 0.0)


def rsqrt(x: np.ndarray) -> np.ndarray:
    return 1.0 / np.sqrt(f64(x))


# ------------------------------------------------------------------- row ops
def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``exp(x - max) / sum(exp(x - max))``; a row of all -inf gives NaN (0/0)."""

    def row(v: np.ndarray) -> np.ndarray:
        m = v.max() if v.size else 0.0
        with np.errstate(invalid="ignore"):
            e = np.exp(v - m)
            return e / e.sum()

    return _rows(row, x, axis)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    def row(v: np.ndarray) -> np.ndarray:
        m = v.max()
        with np.errstate(invalid="ignore", divide="ignore"):
            return v - m - np.log(np.exp(v - m).sum())

    return _rows(row, x, axis)


def logsumexp(x: np.ndarray, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(x)))`` around the max; rows of all -inf give -inf."""
    x = f64(x)
    m = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros([1] * x.ndim)
    m = np.where(np.isinf(m), 0.0, m)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else out.reshape(())
    return out


def cumsum(x: np.ndarray, axis: int) -> np.ndarray:
    """Inclusive prefix sum with a running total."""

    def row(v: np.ndarray) -> np.ndarray:
        out = np.empty_like(v)
        total = 0.0
        for i, e in enumerate(v):
            total += e
            out[i] = total
        return out

    return _rows(row, x, axis)


def var(x: np.ndarray, axis: int | Sequence[int] | None = None, keepdims: bool = False, correction: int = 1):  # type: ignore[no-untyped-def]
    """Two-pass variance ``sum((x - mean)^2) / (n - correction)``; NaN when n <= correction."""
    x = f64(x)
    ax = tuple(range(x.ndim)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    n = int(np.prod([x.shape[a] for a in ax])) if ax else 1
    mean = x.sum(axis=ax, keepdims=True) / n if n else np.full([1] * x.ndim, np.nan)
    ss = ((x - mean) ** 2).sum(axis=ax, keepdims=keepdims)
    return ss / (n - correction) if n - correction > 0 else np.full_like(ss, np.nan)


# ---------------------------------------------------------------------- norms
def rms_norm(x: np.ndarray, weight: np.ndarray | None = None, eps: float = 1e-6) -> np.ndarray:
    x = f64(x)
    ms = (x * x).mean(axis=-1, keepdims=True)
    y = x / np.sqrt(ms + eps)
    return y * f64(weight) if weight is not None else y


def layer_norm(
    x: np.ndarray, weight: np.ndarray | None = None, bias: np.ndarray | None = None, eps: float = 1e-5
) -> np.ndarray:
    x = f64(x)
    mean = x.mean(axis=-1, keepdims=True)
    var_ = ((x - mean) ** 2).mean(axis=-1, keepdims=True)  # biased
    y = (x - mean) / np.sqrt(var_ + eps)
    if weight is not None:
        y = y * f64(weight)
    if bias is not None:
        y = y + f64(bias)
    return y


def add_rms_norm(
    x: np.ndarray, residual: np.ndarray, weight: np.ndarray | None = None, eps: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    s = f64(x) + f64(residual)
    return rms_norm(s, weight, eps), s


# ------------------------------------------------------------------ reductions
def argext(x: np.ndarray, axis: int | None, largest: bool) -> np.ndarray:
    """First index of the max (min) along ``axis``; the first NaN wins."""
    x = f64(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    xm = np.moveaxis(x, axis, -1)
    flat = xm.reshape(-1, xm.shape[-1])
    out = np.empty(flat.shape[0], np.int64)
    for r, row in enumerate(flat):
        best = 0
        for i, v in enumerate(row):
            if math.isnan(row[best]):
                break
            if math.isnan(v) or (v > row[best] if largest else v < row[best]):
                best = i
        out[r] = best
    return out.reshape(xm.shape[:-1])


# ---------------------------------------------------------------------- sort
def _order(row: np.ndarray, descending: bool) -> list[int]:
    """Stable order of one row: NaN is the largest value; ties keep the lower index first."""

    def key(i: int) -> tuple[int, float]:
        v = float(row[i])
        return (1, 0.0) if math.isnan(v) else (0, v)

    return sorted(range(len(row)), key=key, reverse=descending)  # reverse keeps stability


def sort(x: np.ndarray, axis: int = -1, descending: bool = False) -> tuple[np.ndarray, np.ndarray]:
    xm = np.moveaxis(f64(x), axis, -1)
    flat = xm.reshape(-1, xm.shape[-1])
    vals = np.empty_like(flat)
    idx = np.empty(flat.shape, np.int64)
    for r, row in enumerate(flat):
        o = _order(row, descending)
        idx[r] = o
        vals[r] = row[o]
    return (np.moveaxis(vals.reshape(xm.shape), -1, axis), np.moveaxis(idx.reshape(xm.shape), -1, axis))


def topk(x: np.ndarray, k: int, axis: int = -1, largest: bool = True) -> tuple[np.ndarray, np.ndarray]:
    vals, idx = sort(x, axis, descending=largest)
    sl = [slice(None)] * np.ndim(x)
    sl[axis] = slice(0, k)
    return vals[tuple(sl)], idx[tuple(sl)]


# ------------------------------------------------------------------ indexing
def gather(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    """``out[i][j][k] = x[i][index[i][j][k]][k]`` for dim 1 (torch.gather)."""
    out = np.empty(index.shape, dtype=x.dtype)
    for pos in np.ndindex(*index.shape):
        src = list(pos)
        src[dim] = int(index[pos])
        out[pos] = x[tuple(src)]
    return out


def scatter(x: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray, accumulate: bool) -> np.ndarray:
    """A copy of x with ``out[..index[i]..] (+)= src[i]`` for every position i of index."""
    out = np.array(x, dtype=F64 if x.dtype.kind == "f" or x.dtype.kind == "V" else x.dtype, copy=True)
    for pos in np.ndindex(*index.shape):
        dst = list(pos)
        dst[dim] = int(index[pos])
        if accumulate:
            out[tuple(dst)] += src[pos]
        else:
            out[tuple(dst)] = src[pos]
    return out


def index_select(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    return np.stack([np.take(x, int(i), axis=dim) for i in index], axis=dim) if len(index) else np.take(x, [], axis=dim)


def embedding(weight: np.ndarray, ids: np.ndarray) -> np.ndarray:
    out = np.empty((*ids.shape, weight.shape[1]), dtype=weight.dtype)
    for pos in np.ndindex(*ids.shape):
        out[pos] = weight[int(ids[pos])]
    return out


# ---------------------------------------------------------------- matmul
def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """numpy's matmul semantics (batch broadcasting, 1-D promotion) in float64."""
    return np.matmul(f64(a), f64(b))


def matmul_loops(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A triple-loop ``[M, K] @ [K, N]`` used to check ``matmul`` itself on small sizes."""
    m, k = a.shape
    n = b.shape[1]
    out = np.zeros((m, n), F64)
    for i in range(m):
        for j in range(n):
            out[i, j] = sum(float(a[i, t]) * float(b[t, j]) for t in range(k))
    return out
