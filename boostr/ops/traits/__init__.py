"""Op traits: the public op contract, mixed into every backend client.

Primitive traits validate, promote and compose, then call the backend hooks of
``boostr.runtime.hooks``. Extension traits (attention, RoPE, quantization, ...)
add a generic composite body that a backend may override with a fused kernel.
"""

from .attention import AttentionOps
from .attention_projection import AttentionProjectionOps
from .creation import CreationOps, Generator
from .decode_layer import DecodeLayerOps
from .elementwise import ElementwiseOps
from .indexing import IndexingOps
from .kv_cache import KvCacheOps
from .kv_cache_quant import KvCacheQuantOps
from .matmul import MatmulOps
from .mla_attention import MlaAttentionOps
from .norm import NormOps
from .quant import QuantOps
from .reduce import ReduceOps
from .rope import RoPEOps
from .shape import ShapeOps
from .sort import SortOps
from .varlen_attention import VarlenAttentionOps

PRIMITIVE_TRAITS = (CreationOps, ElementwiseOps, ReduceOps, NormOps, MatmulOps, ShapeOps, IndexingOps, SortOps)
ALL_TRAITS = (
    *PRIMITIVE_TRAITS, AttentionOps, QuantOps, RoPEOps, KvCacheOps, VarlenAttentionOps, KvCacheQuantOps,
    MlaAttentionOps, AttentionProjectionOps, DecodeLayerOps,
)  # fmt: skip

__all__ = ["ALL_TRAITS", "PRIMITIVE_TRAITS", "Generator"]
