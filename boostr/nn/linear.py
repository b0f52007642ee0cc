"""Linear and Embedding: float or block-quantized weights.

Layout (PyTorch / GGUF convention): ``Linear.weight [N, K]`` (out features, in features),
``y [..., N] = x [..., K] @ weight^T + bias``; ``Embedding.weight [V, D]``, ids ``[...]`` ->
``[..., D]``. A QuantTensor weight runs ``client.quant_matmul`` / ``client.quant_embedding``
(blocks decoded on the fly); a float weight runs ``matmul`` / ``embedding``.
"""

from __future__ import annotations

from typing import Any

from .. import dtype as _dt
from ..errors import InvalidArgument
from ..quant.quant_tensor import QuantTensor
from ..tensor import Tensor
from .module import Module, Param


def _check_weight(weight: Any, arg: str = "weight") -> Param:
    if not isinstance(weight, (Tensor, QuantTensor)) or len(weight.shape) != 2:
        raise InvalidArgument(arg, f"expected a 2-d Tensor or QuantTensor, received {weight!r}")
    return weight


class Linear(Module):
    """``y = x @ weight^T (+ bias)``; ``weight [N, K]`` float Tensor or QuantTensor, ``bias [N]`` or None."""

    def __init__(self, weight: Param, bias: Tensor | None = None) -> None:
        super().__init__()
        self.weight = _check_weight(weight)
        self.bias = bias
        if bias is not None and tuple(bias.shape) != (weight.shape[0],):
            raise InvalidArgument("bias", f"expected shape ({weight.shape[0]},), received {bias.shape}")

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    @property
    def client(self) -> Any:
        return self.weight.client

    def __call__(self, x: Tensor) -> Tensor:
        """``x [..., K]`` -> ``[..., N]`` in x's dtype."""
        c = x.client
        w = self.weight
        y = c.quant_matmul(x, w) if isinstance(w, QuantTensor) else c.matmul(x, w.T)
        return y if self.bias is None else c.add(y, self.bias)

    def extra_repr(self) -> str:
        kind = self.weight.format.name if isinstance(self.weight, QuantTensor) else self.weight.dtype.name
        return f"{self.in_features} -> {self.out_features}, {kind}, bias={self.bias is not None}"


class Embedding(Module):
    """Token embedding ``weight [V, D]`` (float or QuantTensor); ``__call__(ids)`` -> ``[..., D]``."""

    def __init__(self, weight: Param) -> None:
        super().__init__()
        self.weight = _check_weight(weight)

    @property
    def num_embeddings(self) -> int:
        return int(self.weight.shape[0])

    @property
    def embedding_dim(self) -> int:
        return int(self.weight.shape[1])

    def __call__(self, ids: Tensor, dtype: Any = _dt.f32) -> Tensor:
        """Rows of the table at ``ids`` in ``dtype`` (a quantized table decodes only those rows)."""
        w = self.weight
        if isinstance(w, QuantTensor):
            return w.client.quant_embedding(w, ids, dtype)
        out = w.client.embedding(w, ids)
        return out if out.dtype is _dt.dtype(dtype) else w.client.cast(out, dtype)

    def extra_repr(self) -> str:
        kind = self.weight.format.name if isinstance(self.weight, QuantTensor) else self.weight.dtype.name
        return f"{self.num_embeddings} x {self.embedding_dim}, {kind}"


__all__ = ["Embedding", "Linear"]
