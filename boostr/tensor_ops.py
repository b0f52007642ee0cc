"""Python operators and op methods of Tensor, each a one-line call into the client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .dtype import DType
    from .tensor import Tensor


class TensorMath:
    """Mixed into Tensor: ``a + b`` is ``a.client.add(a, b)`` and so on."""

    __slots__ = ()
    client: Any

    # operators
    def __add__(self, o: Any) -> Tensor:
        return self.client.add(self, o)

    def __radd__(self, o: Any) -> Tensor:
        return self.client.add(o, self)

    def __sub__(self, o: Any) -> Tensor:
        return self.client.sub(self, o)

    def __rsub__(self, o: Any) -> Tensor:
        return self.client.sub(o, self)

    def __mul__(self, o: Any) -> Tensor:
        return self.client.mul(self, o)

    def __rmul__(self, o: Any) -> Tensor:
        return self.client.mul(o, self)

    def __truediv__(self, o: Any) -> Tensor:
        return self.client.div(self, o)

    def __rtruediv__(self, o: Any) -> Tensor:
        return self.client.div(o, self)

    def __pow__(self, o: Any) -> Tensor:
        return self.client.pow(self, o)

    def __rpow__(self, o: Any) -> Tensor:
        return self.client.pow(o, self)

    def __matmul__(self, o: Any) -> Tensor:
        return self.client.matmul(self, o)

    def __rmatmul__(self, o: Any) -> Tensor:
        return self.client.matmul(o, self)

    def __neg__(self) -> Tensor:
        return self.client.neg(self)

    def __abs__(self) -> Tensor:
        return self.client.abs(self)

    def __invert__(self) -> Tensor:
        return self.client.logical_not(self)

    def __and__(self, o: Any) -> Tensor:
        return self.client.logical_and(self, o)

    def __or__(self, o: Any) -> Tensor:
        return self.client.logical_or(self, o)

    def __xor__(self, o: Any) -> Tensor:
        return self.client.logical_xor(self, o)

    def __eq__(self, o: Any) -> Tensor:  # type: ignore[override]
        return self.client.eq(self, o)

    def __ne__(self, o: Any) -> Tensor:  # type: ignore[override]
        return self.client.ne(self, o)

    def __lt__(self, o: Any) -> Tensor:
        return self.client.lt(self, o)

    def __le__(self, o: Any) -> Tensor:
        return self.client.le(self, o)

    def __gt__(self, o: Any) -> Tensor:
        return self.client.gt(self, o)

    def __ge__(self, o: Any) -> Tensor:
        return self.client.ge(self, o)

    # methods
    def cast(self, dtype: DType | str) -> Tensor:
        return self.client.cast(self, dtype)

    def float(self) -> Tensor:
        return self.client.cast(self, "f32")

    def half(self) -> Tensor:
        return self.client.cast(self, "f16")

    def sum(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return self.client.sum(self, dim, keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return self.client.mean(self, dim, keepdim)

    def max(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return self.client.max(self, dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return self.client.min(self, dim, keepdim)

    def prod(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return self.client.prod(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self.client.argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self.client.argmin(self, dim, keepdim)

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return self.client.any(self, dim, keepdim)

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return self.client.all(self, dim, keepdim)

    def var(self, dim: Any = None, keepdim: bool = False, correction: int = 1) -> Tensor:
        return self.client.var(self, dim, keepdim, correction)

    def softmax(self, dim: int = -1) -> Tensor:
        return self.client.softmax(self, dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        return self.client.log_softmax(self, dim)

    def exp(self) -> Tensor:
        return self.client.exp(self)

    def log(self) -> Tensor:
        return self.client.log(self)

    def sqrt(self) -> Tensor:
        return self.client.sqrt(self)

    def abs(self) -> Tensor:
        return self.client.abs(self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        return self.client.clamp(self, min, max)

    def matmul(self, o: Tensor) -> Tensor:
        return self.client.matmul(self, o)

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        return self.client.masked_fill(self, mask, value)

    def repeat(self, *repeats: Any) -> Tensor:
        return self.client.repeat(self, *repeats)

    def copy(self) -> Tensor:
        return self.client.copy(self)
