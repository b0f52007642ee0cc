"""wgpu implementations of the kernel hooks (``boostr.runtime.hooks``), one file per family.

Importing this package does not import ``wgpu``: the hooks reach the device only
through the client's engine (``boostr.runtime.wgpu.engine``).
"""

from .attention import WgpuAttention
from .creation import WgpuCreation
from .elementwise import WgpuElementwise
from .indexing import WgpuIndexing
from .kv_cache import WgpuKvCache
from .kv_cache_quant import WgpuKvCacheQuant
from .matmul import WgpuMatmul
from .memory import WgpuMemory
from .norm import WgpuNorm
from .quant import WgpuQuant
from .quant_int4 import WgpuQuantInt4
from .reduce import WgpuReduce
from .rope import WgpuRoPE
from .sort import WgpuSort
from .varlen_attention import WgpuVarlenAttention

WGPU_HOOKS = (WgpuMemory, WgpuCreation, WgpuElementwise, WgpuReduce, WgpuNorm, WgpuMatmul, WgpuIndexing, WgpuSort,
              WgpuQuant)  # fmt: skip
WGPU_HOOKS += (WgpuAttention, WgpuRoPE, WgpuKvCache, WgpuKvCacheQuant)  # type: ignore[assignment]
WGPU_HOOKS += (WgpuQuantInt4,)  # type: ignore[assignment]
WGPU_HOOKS += (WgpuVarlenAttention,)  # type: ignore[assignment]

__all__ = ["WGPU_HOOKS"]
