"""CPU implementations of the kernel hooks (``boostr.runtime.hooks``), one file per family."""

from .creation import CpuCreation
from .elementwise import CpuElementwise
from .indexing import CpuIndexing
from .matmul import CpuMatmul
from .memory import CpuMemory
from .norm import CpuNorm
from .reduce import CpuReduce
from .sort import CpuSort

CPU_HOOKS = (CpuMemory, CpuCreation, CpuElementwise, CpuReduce, CpuNorm, CpuMatmul, CpuIndexing, CpuSort)

__all__ = ["CPU_HOOKS"]
