"""The kernel contract: the hooks every backend client implements.

The public primitive ops (``client.add``, ``client.sum``, ``client.cat``, ...)
live once in ``boostr/ops/traits``: they validate arguments, promote dtypes,
broadcast, allocate outputs and compose. They reach the device only through the
hooks below, which each backend implements in ``boostr/ops/<backend>/<family>.py``.

Conventions for every hook:

- ``out`` tensors are freshly allocated, row-major contiguous, offset 0, of the
  exact shape and dtype the hook must write. Hooks write only into ``out``.
- Input tensors may be any view: non-contiguous, offset, broadcast (stride 0).
  Strides are never negative. Shapes already match ``out`` where stated.
- Inputs are already of the dtype the hook computes in (the front end casts);
  half types (f16, bf16) compute with f32 accumulation inside the hook.
- A hook never moves data to the host (except ``_k_download``) and never calls
  another backend.
- Index tensors are i32 or i64, contiguous. Out-of-range index values: the CPU
  raises ``InvalidArgument``; GPU backends clamp to the valid range (no out of
  bounds access) since checking would need a host round trip.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from ..dtype import DType
from ..tensor import Tensor

Scalar = bool | int | float

UNARY_OPS = (
    "neg", "abs", "sqrt", "rsqrt", "exp", "log", "sin", "cos", "tanh", "erf", "sigmoid", "relu",
    "silu", "gelu_tanh", "gelu_erf", "softplus", "logical_not", "floor", "ceil", "round", "sign",
    "reciprocal", "square",
)  # fmt: skip
"""Unary hook ops. Float-only ops get float inputs; logical_not gets bool and writes bool."""

FLOAT_UNARY_OPS = frozenset(
    ("sqrt", "rsqrt", "exp", "log", "sin", "cos", "tanh", "erf", "sigmoid", "silu", "gelu_tanh", "gelu_erf",
     "softplus", "reciprocal", "floor", "ceil", "round")
)  # fmt: skip

ARITH_BINARY_OPS = ("add", "sub", "mul", "div", "pow", "maximum", "minimum")
COMPARE_OPS = ("eq", "ne", "lt", "le", "gt", "ge")
LOGICAL_OPS = ("logical_and", "logical_or", "logical_xor")
BINARY_OPS = ARITH_BINARY_OPS + COMPARE_OPS + LOGICAL_OPS
"""Binary hook ops. Compare/logical ops write bool. ``div`` gets float inputs only."""

REDUCE_OPS = ("sum", "prod", "max", "min", "argmax", "argmin", "any", "all")

RANDOM_DISTS = ("uniform", "normal", "randint")


class KernelHooks(Protocol):
    """What a backend implements. See the module docstring for the conventions."""

    # ---- memory
    def _k_alloc(self, numel: int, dtype: DType) -> Any:
        """Device storage for ``numel`` elements of ``dtype`` (contents undefined)."""
        ...

    def _k_upload(self, arr: np.ndarray, dtype: DType) -> Any:
        """Storage holding a C-contiguous host array of ``dtype.np_dtype`` (counts one h2d)."""
        ...

    def _k_download(self, x: Tensor) -> np.ndarray:
        """A new C-contiguous numpy array of ``dtype.np_dtype`` with x's values (counts one d2h)."""
        ...

    def _k_copy(self, src: Tensor, dst: Tensor) -> None:
        """``dst[...] = src`` with dtype conversion; dst may be any non-overlapping view.

        Float to int conversion truncates toward zero; to bool is ``!= 0``;
        to half/fp8 rounds to nearest even (fp8 e4m3 saturates to +-448).
        """
        ...

    def _k_fill(self, dst: Tensor, value: Scalar) -> None:
        """Set every element of the view ``dst`` to ``value`` (already valid for dst.dtype)."""
        ...

    # ---- creation
    def _k_arange(self, out: Tensor, start: Scalar, step: Scalar) -> None:
        """``out[i] = start + i * step`` for 1-D ``out`` (computed in f64 for floats, i64 for ints)."""
        ...

    def _k_random(self, out: Tensor, dist: str, seed: int, offset: int, a: float, b: float) -> None:
        """Counter-based Philox4x32-10 numbers, identical bits on every backend.

        For flat element ``i``: ``key = (seed & 0xffffffff, seed >> 32)``,
        ``counter = (i & 0xffffffff, i >> 32, offset & 0xffffffff, offset >> 32)``,
        ``(r0, r1, r2, r3) = philox4x32_10(counter, key)``.
        ``uniform``: ``u = (r0 >> 8) * 2**-24``; ``out = a + (b - a) * u``.
        ``normal``: ``u1 = ((r0 >> 8) + 1) * 2**-24``, ``u2 = (r1 >> 8) * 2**-24``,
        ``out = a + b * sqrt(-2 log u1) * cos(2 pi u2)``.
        ``randint``: ``out = a + umulhi(r0, b - a)`` for an int ``out``, with
        ``umulhi(x, n) = (x * n) >> 32`` in 64-bit arithmetic.
        """
        ...

    # ---- elementwise
    def _k_unary(self, op: str, x: Tensor, out: Tensor) -> None:
        """``out = op(x)``, op in UNARY_OPS; x has out's shape (and dtype, except logical_not)."""
        ...

    def _k_binary(self, op: str, a: Tensor, b: Tensor | Scalar, out: Tensor, swap: bool = False) -> None:
        """``out = op(a, b)`` (``op(b, a)`` when swap), op in BINARY_OPS.

        ``a`` (and ``b`` when a Tensor) have out's shape (broadcast views) and one
        dtype; ``b`` may be a Python scalar. Integer ``pow`` with a negative
        exponent is refused by the front end.
        """
        ...

    def _k_where(self, cond: Tensor, a: Tensor | Scalar, b: Tensor | Scalar, out: Tensor) -> None:
        """``out = cond ? a : b``; cond is bool; tensors have out's shape and dtype."""
        ...

    def _k_fma(self, a: Tensor, b: Tensor, c: Tensor, out: Tensor) -> None:
        """``out = a * b + c`` in one rounding step per element (computed in f32 or wider)."""
        ...

    def _k_clamp(self, x: Tensor, lo: Scalar | None, hi: Scalar | None, out: Tensor) -> None:
        """``out = min(max(x, lo), hi)``, skipping a None bound."""
        ...

    # ---- rows (x is a contiguous [R, C] tensor; R or C may be 0)
    def _k_reduce(self, op: str, x: Tensor, out: Tensor) -> None:
        """Reduce each row of ``x [R, C]`` into ``out [R]``, op in REDUCE_OPS.

        sum/prod accumulate in f32 for half types and in out's dtype otherwise;
        argmax/argmin return the first index of the extreme (NaN wins); C == 0
        only reaches sum/prod/any/all (0, 1, False, True).
        """
        ...

    def _k_softmax(self, x: Tensor, out: Tensor, log: bool) -> None:
        """Numerically stable (log-)softmax of each row of ``x [R, C]`` (C >= 1)."""
        ...

    def _k_cumsum(self, x: Tensor, out: Tensor) -> None:
        """Inclusive prefix sum along each row of ``x [R, C]``; out may be a wider dtype."""
        ...

    def _k_rms_norm(self, x: Tensor, weight: Tensor | None, eps: float, out: Tensor) -> None:
        """``out = x / sqrt(mean(x^2) + eps) * weight`` per row of ``x [R, C]``, weight ``[C]``."""
        ...

    def _k_layer_norm(self, x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float, out: Tensor) -> None:
        """``out = (x - mean) / sqrt(var + eps) * weight + bias`` per row (biased variance)."""
        ...

    def _k_add_rms_norm(
        self, x: Tensor, residual: Tensor, weight: Tensor | None, eps: float, out: Tensor, sum_out: Tensor
    ) -> None:
        """``sum_out = x + residual``; ``out = rms_norm(sum_out) * weight``; all ``[R, C]``."""
        ...

    def _k_sort(self, x: Tensor, values: Tensor, indices: Tensor, descending: bool) -> None:
        """Stable sort of each row of ``x [R, C]``; indices i64 (i32 where i64 is unsupported)."""
        ...

    def _k_topk(self, x: Tensor, k: int, largest: bool, values: Tensor, indices: Tensor) -> None:
        """The k largest (smallest) of each row of ``x [R, C]``, sorted, ties by lower index."""
        ...

    # ---- matmul
    def _k_matmul(self, a: Tensor, b: Tensor, out: Tensor) -> None:
        """``out[i] = a[i] @ b[i]`` for ``a [B, M, K]``, ``b [B, K, N]`` (any strides, stride-0 batch allowed)."""
        ...

    # ---- indexing (x, index contiguous)
    def _k_gather(self, x: Tensor, dim: int, index: Tensor, out: Tensor) -> None:
        """``out[..i..] = x[..index[..i..] at dim..]`` (torch.gather); out has index's shape."""
        ...

    def _k_scatter(self, out: Tensor, dim: int, index: Tensor, src: Tensor, accumulate: bool) -> None:
        """In place on contiguous ``out``: ``out[..index[i] at dim..] (+)= src[i]`` for i over index's shape.

        With duplicate indices and ``accumulate=False`` which write wins is unspecified.
        """
        ...

    def _k_index_select(self, x: Tensor, dim: int, index: Tensor, out: Tensor) -> None:
        """``out = x`` taken at 1-D ``index`` along ``dim`` (embedding lookup is dim 0)."""
        ...
