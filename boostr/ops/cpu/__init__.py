"""CPU implementations of the kernel hooks (``boostr.runtime.hooks``), one file per family."""

from .attention import CpuAttention
from .creation import CpuCreation
from .decode_layer import CpuDecodeLayer
from .elementwise import CpuElementwise
from .indexing import CpuIndexing
from .kv_cache import CpuKvCache
from .matmul import CpuMatmul
from .memory import CpuMemory
from .mla_attention import CpuMlaAttention
from .norm import CpuNorm
from .quant import CpuQuant
from .quant_int4 import CpuQuantInt4
from .reduce import CpuReduce
from .rope import CpuRoPE
from .sort import CpuSort
from .varlen_attention import CpuVarlenAttention

CPU_HOOKS: tuple[type, ...] = (
    CpuMemory,
    CpuCreation,
    CpuElementwise,
    CpuReduce,
    CpuNorm,
    CpuMatmul,
    CpuIndexing,
    CpuSort,
)
CPU_HOOKS += (CpuAttention, CpuQuant, CpuRoPE, CpuKvCache, CpuMlaAttention, CpuVarlenAttention, CpuDecodeLayer)
CPU_HOOKS += (CpuQuantInt4,)

__all__ = ["CPU_HOOKS"]
