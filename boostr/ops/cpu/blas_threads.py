"""Thread count of the OpenBLAS libraries in the process (numpy's and scipy's), set for a scope.

The CPU backend alternates numba's OpenMP threads with BLAS calls: the dequantize-then-matmul
path of ``quant_matmul`` (more than 16 rows) multiplies with ``np.matmul`` (numpy's OpenBLAS) between
numba kernels, and numba compiles ``np.dot`` inside the attention kernels to scipy's OpenBLAS.
Each pool spin-waits after its parallel region on the cores the other needs: a 128-token prefill
of the default model on 2 cores measured 800-930 ms with numpy's OpenBLAS on 2 threads, 265 ms on 1.
``blas_threads(1)`` makes both libraries single-threaded for a scope (``generate`` uses it) and
restores their previous counts after it, so numpy elsewhere in a program that imports boostr keeps
its threads. A BLAS that is not OpenBLAS (MKL, Accelerate) is left alone.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LIBS: list[list[tuple[Any, Any]]] = []
_SUFFIXES = ("", "64_", "_64")
_PREFIXES = ("scipy_openblas", "openblas")


def _candidates() -> list[str]:
    """Paths of the OpenBLAS shared libraries of numpy's and scipy's wheels, and any loaded one."""
    paths: list[str] = []
    for pkg in ("numpy", "scipy"):
        try:
            mod = __import__(pkg)
        except ImportError:
            continue
        root = os.path.dirname(os.path.dirname(os.path.abspath(mod.__file__ or "")))
        paths += sorted(glob.glob(os.path.join(root, f"{pkg}.libs", "*openblas*.so*")))
    try:
        with open("/proc/self/maps") as maps:
            paths += [line.split()[-1] for line in maps if "openblas" in line and line.split()[-1].startswith("/")]
    except OSError:
        pass
    seen: dict[str, str] = {}
    for p in paths:
        seen.setdefault(os.path.realpath(p), p)
    return list(seen.values())


def _openblas() -> list[tuple[Any, Any]]:
    """``(set_num_threads, get_num_threads)`` of every OpenBLAS found (looked up once)."""
    if _LIBS:
        return _LIBS[0]
    found: list[tuple[Any, Any]] = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                set_fn = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                get_fn = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                if set_fn is not None and get_fn is not None:
                    set_fn.argtypes, set_fn.restype, get_fn.restype = [ctypes.c_int], None, ctypes.c_int
                    found.append((set_fn, get_fn))
                    break
            else:
                continue
            break
    _LIBS.append(found)
    return found


def blas_thread_counts() -> list[int]:
    """The current thread count of each OpenBLAS found (empty when there is none)."""
    return [int(get_fn()) for _, get_fn in _openblas()]


@contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Within the scope every OpenBLAS found uses ``n`` threads; the previous counts are restored after."""
    libs = _openblas()
    before = [int(get_fn()) for _, get_fn in libs]
    for (set_fn, _), b in zip(libs, before, strict=True):
        if b != n:
            set_fn(n)
    try:
        yield
    finally:
        for (set_fn, _), b in zip(libs, before, strict=True):
            if b != n:
                set_fn(b)


__all__ = ["blas_thread_counts", "blas_threads"]
