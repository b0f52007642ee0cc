"""Thread count of the BLAS that numba kernels call: scipy's bundled OpenBLAS, set for a scope.

numba compiles ``np.dot`` inside ``@njit`` code to ``scipy.linalg.cython_blas``, so the CPU
attention kernels (``kernels/cpu/attention*.py``) run scipy's OpenBLAS from inside numba's
``prange`` threads. OpenBLAS then starts its own worker threads, which spin on the cores numba's
threads already use (a 128-token prefill on 2 cores measured 850 ms with OpenBLAS's default
threads, 252 ms with one). ``kernel_blas_threads(1)`` makes those calls single-threaded for a
scope and restores the previous count after it. numpy's own BLAS (``np.matmul`` on arrays: the
CPU ``matmul`` op, which is meant to use every core) is a separate library and is not touched;
when scipy's OpenBLAS cannot be found (another BLAS vendor), the scope changes nothing.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LIB: list[tuple[Any, Any] | None] = []


def _scipy_openblas() -> tuple[Any, Any] | None:
    """``(set_num_threads, get_num_threads)`` of scipy's bundled OpenBLAS, or None."""
    if _LIB:
        return _LIB[0]
    funcs = None
    try:
        import scipy

        root = os.path.dirname(os.path.dirname(os.path.abspath(scipy.__file__)))
        for path in sorted(glob.glob(os.path.join(root, "scipy.libs", "libscipy_openblas*.so*"))):
            lib = ctypes.CDLL(path)
            for prefix in ("scipy_openblas", "openblas"):
                set_fn = getattr(lib, prefix + "_set_num_threads", None)
                get_fn = getattr(lib, prefix + "_get_num_threads", None)
                if set_fn is not None and get_fn is not None:
                    set_fn.argtypes, set_fn.restype, get_fn.restype = [ctypes.c_int], None, ctypes.c_int
                    funcs = (set_fn, get_fn)
                    break
            if funcs is not None:
                break
    except (ImportError, OSError):
        funcs = None
    _LIB.append(funcs)
    return funcs


def kernel_blas_threads_now() -> int | None:
    """The current thread count of the numba kernels' BLAS (None when it cannot be read)."""
    funcs = _scipy_openblas()
    return None if funcs is None else int(funcs[1]())


@contextmanager
def kernel_blas_threads(n: int) -> Iterator[None]:
    """Within the scope, the BLAS called from numba kernels uses ``n`` threads (restored after)."""
    funcs = _scipy_openblas()
    if funcs is None:
        yield
        return
    before = int(funcs[1]())
    if before == n:
        yield
        return
    funcs[0](n)
    try:
        yield
    finally:
        funcs[0](before)


__all__ = ["kernel_blas_threads", "kernel_blas_threads_now"]
