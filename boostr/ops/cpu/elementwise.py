"""CPU elementwise hooks: numpy ufuncs (half types computed in f32, then rounded)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ...tensor import Tensor
from ._view import compute_view, np_view, store

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _erf(x: np.ndarray) -> np.ndarray:
    from ...kernels.cpu.special import erf_array

    return erf_array(x)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(x, np.zeros((), dtype=x.dtype))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


UNARY: dict[str, Callable[[np.ndarray], Any]] = {
    "neg": np.negative,
    "abs": np.abs,
    "sqrt": np.sqrt,
    "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "exp": np.exp,
    "log": np.log,
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "erf": _erf,
    "sigmoid": _sigmoid,
    "relu": lambda x: np.maximum(x, 0),
    "silu": lambda x: x * _sigmoid(x),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
    "gelu_erf": lambda x: 0.5 * x * (1.0 + _erf(x * (1.0 / math.sqrt(2.0)))),
    "softplus": _softplus,
    "logical_not": np.logical_not,
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.round,
    "sign": np.sign,
    "reciprocal": lambda x: 1.0 / x,
    "square": np.square,
}

BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.true_divide,
    "pow": np.power,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "logical_and": np.logical_and,
    "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
}


class CpuElementwise:
    def _k_unary(self, op: str, x: Tensor, out: Tensor) -> None:
        fn = UNARY[op]
        with np.errstate(all="ignore"):
            if isinstance(fn, np.ufunc) and not x.dtype.is_half:
                fn(np_view(x), out=np_view(out))  # one pass, straight into out
            else:
                store(out, fn(compute_view(x)))

    def _k_binary(self, op: str, a: Tensor, b: Any, out: Tensor, swap: bool = False) -> None:
        fn = BINARY[op]
        if a.dtype.is_half:  # computed in f32, then rounded into out
            va = compute_view(a)
            vb = compute_view(b) if isinstance(b, Tensor) else np.asarray(b, dtype=va.dtype)
            with np.errstate(all="ignore"):
                store(out, fn(vb, va) if swap else fn(va, vb))
            return
        va = np_view(a)
        vb = np_view(b) if isinstance(b, Tensor) else np.asarray(b, dtype=va.dtype)
        with np.errstate(all="ignore"):
            if swap:
                fn(vb, va, out=np_view(out))  # type: ignore[call-arg]
            else:
                fn(va, vb, out=np_view(out))  # type: ignore[call-arg]

    def _k_where(self, cond: Tensor, a: Any, b: Any, out: Tensor) -> None:
        va = np_view(a) if isinstance(a, Tensor) else a
        vb = np_view(b) if isinstance(b, Tensor) else b
        store(out, np.where(np_view(cond), va, vb))

    def _k_fma(self, a: Tensor, b: Tensor, c: Tensor, out: Tensor) -> None:
        # f64 products of f32 operands are exact, so one rounding to out's dtype remains
        store(out, compute_view(a).astype(np.float64) * compute_view(b) + compute_view(c))

    def _k_clamp(self, x: Tensor, lo: Any, hi: Any, out: Tensor) -> None:
        v = compute_view(x)
        if lo is not None:
            v = np.maximum(v, np.asarray(lo, dtype=v.dtype))
        if hi is not None:
            v = np.minimum(v, np.asarray(hi, dtype=v.dtype))
        store(out, v)
