"""SwiGLU MLP: ``down(silu(gate(x)) * up(x))`` (LLaMA, Mistral, Qwen).

Layout: ``x [..., E]``; ``gate_proj``/``up_proj [F, E]``, ``down_proj [E, F]`` -> ``[..., E]``.
Quantized gate/up without biases run ``client.quant_swiglu`` (one fused pass on backends
that have it); float ones may be fused into one ``[2F, E]`` matmul with ``fuse()``.
"""

from __future__ import annotations

from ..quant.quant_tensor import QuantTensor
from ..tensor import Tensor
from .attention import fuse_linears
from .linear import Linear
from .module import Module


class SwiGLU(Module):
    """The gated feed-forward block of LLaMA-style decoders."""

    def __init__(self, gate_proj: Linear, up_proj: Linear, down_proj: Linear) -> None:
        super().__init__()
        self.gate_proj, self.up_proj, self.down_proj = gate_proj, up_proj, down_proj
        self._gate_up: Linear | None = None

    def fuse(self) -> bool:
        """Fuse float gate/up into one matmul (quantized ones already fuse in ``quant_swiglu``)."""
        g, u = self.gate_proj, self.up_proj
        if self._gate_up is None and not isinstance(g.weight, QuantTensor):
            self._gate_up = fuse_linears([g, u])
        return self._gate_up is not None

    def __call__(self, x: Tensor) -> Tensor:
        c = x.client
        g, u = self.gate_proj, self.up_proj
        if self._gate_up is not None:
            f = g.out_features
            y = self._gate_up(x)
            h = c.mul(c.silu(y.narrow(-1, 0, f)), y.narrow(-1, f, f))
        elif isinstance(g.weight, QuantTensor) and isinstance(u.weight, QuantTensor) and g.bias is u.bias is None:
            h = c.quant_swiglu(x, g.weight, u.weight)
        else:
            h = c.mul(c.silu(g(x)), u(x))
        return self.down_proj(h)


__all__ = ["SwiGLU"]
