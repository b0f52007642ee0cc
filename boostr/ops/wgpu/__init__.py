"""wgpu implementations of the kernel hooks (``boostr.runtime.hooks``), one file per family.

Importing this package does not import ``wgpu``: the hooks reach the device only
through the client's engine (``boostr.runtime.wgpu.engine``).
"""

from .creation import WgpuCreation
from .elementwise import WgpuElementwise
from .indexing import WgpuIndexing
from .matmul import WgpuMatmul
from .memory import WgpuMemory
from .norm import WgpuNorm
from .reduce import WgpuReduce
from .sort import WgpuSort

WGPU_HOOKS = (WgpuMemory, WgpuCreation, WgpuElementwise, WgpuReduce, WgpuNorm, WgpuMatmul, WgpuIndexing, WgpuSort)

__all__ = ["WGPU_HOOKS"]
