"""CUDA implementations of the kernel hooks (``boostr.runtime.hooks``), one file per family.

Nothing here imports CuPy at module level: the hooks reach it through ``self.cp`` of the
CudaClient, so this package imports on machines without CUDA.
"""

from .creation import CudaCreation
from .elementwise import CudaElementwise
from .indexing import CudaIndexing
from .matmul import CudaMatmul
from .memory import CudaMemory
from .norm import CudaNorm
from .reduce import CudaReduce
from .sort import CudaSort

CUDA_HOOKS = (CudaMemory, CudaCreation, CudaElementwise, CudaReduce, CudaNorm, CudaMatmul, CudaIndexing, CudaSort)

__all__ = ["CUDA_HOOKS"]
