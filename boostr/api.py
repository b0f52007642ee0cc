"""Module-level API: factories take ``backend=``; ops dispatch on their tensor's client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .runtime.registry import get_client
from .tensor import Tensor


def _client(backend: str | None) -> Any:
    return get_client(backend)


def from_numpy(arr: Any, dtype: Any = None, backend: str | None = None) -> Tensor:
    """Upload a numpy array (or nested lists) to ``backend`` (the configured one by default)."""
    return _client(backend).from_numpy(arr, dtype)


tensor = from_numpy


def from_dlpack(obj: Any, backend: str | None = None) -> Tensor:
    """Wrap a DLPack-capable array (``__dlpack__``) from the matching backend."""
    client = _client(backend)
    return client.from_dlpack(obj)


def _factory(name: str) -> Any:
    def f(*args: Any, backend: str | None = None, **kwargs: Any) -> Tensor:
        return getattr(_client(backend), name)(*args, **kwargs)

    f.__name__ = name
    f.__doc__ = f"``boostr.{name}(..., backend=None)``: see ``Client.{name}``."
    return f


def _op(name: str) -> Any:
    def f(x: Any, *args: Any, **kwargs: Any) -> Tensor:
        t = x if isinstance(x, Tensor) else next((a for a in args if isinstance(a, Tensor)), None)
        if t is None:
            if isinstance(x, Sequence) and x and isinstance(x[0], Tensor):
                t = x[0]
            else:
                raise TypeError(f"boostr.{name} needs a boostr.Tensor argument")
        return getattr(t.client, name)(x, *args, **kwargs)

    f.__name__ = name
    f.__doc__ = f"``boostr.{name}(x, ...)``: runs ``x.client.{name}``."
    return f


_FACTORIES = (
    "empty", "zeros", "ones", "full", "arange", "linspace", "eye", "rand", "randn", "randint", "uniform",
)  # fmt: skip
_OPS = (
    "zeros_like", "ones_like", "full_like", "empty_like", "cast", "neg", "abs", "sqrt", "rsqrt", "exp", "log",
    "sin", "cos", "tanh", "erf", "sigmoid", "relu", "silu", "gelu", "softplus", "floor", "ceil", "round", "sign",
    "reciprocal", "square", "logical_not", "add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne",
    "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "where", "masked_fill", "clamp", "fma",
    "sum", "mean", "prod", "max", "min", "argmax", "argmin", "any", "all", "var", "std", "logsumexp", "softmax",
    "log_softmax", "cumsum", "rms_norm", "layer_norm", "add_rms_norm", "matmul", "contiguous", "copy", "cat",
    "stack", "split", "chunk", "pad", "repeat", "repeat_interleave", "roll", "flip", "tril", "triu", "gather",
    "scatter", "scatter_add", "index_select", "embedding", "sort", "argsort", "topk",
)  # fmt: skip

for _n in _FACTORIES:
    globals()[_n] = _factory(_n)
for _n in _OPS:
    globals()[_n] = _op(_n)

__all__ = ["from_dlpack", "from_numpy", "tensor", *_FACTORIES, *_OPS]
