"""Neural-network modules for inference: Module base, Linear/Embedding (float or quantized),
RMSNorm/LayerNorm, RoPE, GQA Attention with a KV cache, SwiGLU MLP and the decoder block."""

from .attention import Attention, fuse_linears
from .block import DecoderBlock
from .kv_cache import KVCache
from .linear import Embedding, Linear
from .mlp import SwiGLU
from .module import Module, ModuleList, Param
from .norm import LayerNorm, RMSNorm
from .paged_cache import PagedKVCache
from .rope import RoPE

__all__ = [
    "Attention", "DecoderBlock", "Embedding", "KVCache", "LayerNorm", "Linear", "Module", "ModuleList",
    "PagedKVCache", "Param", "RMSNorm", "RoPE", "SwiGLU", "fuse_linears",
]  # fmt: skip
