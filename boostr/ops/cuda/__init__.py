"""CUDA implementations of the kernel hooks (``boostr.runtime.hooks``), one file per family.

Nothing here imports CuPy at module level: the hooks reach it through ``self.cp`` of the
CudaClient, so this package imports on machines without CUDA.
"""

from .alibi import CudaAttentionAlibi
from .attention import CudaAttention
from .creation import CudaCreation
from .elementwise import CudaElementwise
from .indexing import CudaIndexing
from .kv_cache import CudaKvCache, CudaKvCacheQuant
from .matmul import CudaMatmul
from .memory import CudaMemory
from .norm import CudaNorm
from .quant import CudaQuant
from .quant_int4 import CudaQuantInt4
from .reduce import CudaReduce
from .rope import CudaRoPE
from .sort import CudaSort
from .varlen_attention import CudaVarlenAttention

CUDA_HOOKS = (CudaMemory, CudaCreation, CudaElementwise, CudaReduce, CudaNorm, CudaMatmul, CudaIndexing, CudaSort)
CUDA_HOOKS += (CudaQuant,)  # type: ignore[assignment]
CUDA_HOOKS += (CudaAttention, CudaRoPE, CudaKvCache, CudaKvCacheQuant)  # type: ignore[assignment]
CUDA_HOOKS += (CudaAttentionAlibi, CudaVarlenAttention)  # type: ignore[assignment]
CUDA_HOOKS += (CudaQuantInt4,)  # type: ignore[assignment]

__all__ = ["CUDA_HOOKS"]
