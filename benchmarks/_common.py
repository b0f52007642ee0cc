"""Helpers shared by the GPU benchmark runners (run them as scripts from the repo root)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wall_time(fn: Callable[[], Any], sync: Callable[[], None], reps: int) -> float:
    """Seconds per call of ``fn``: one warm-up call, then ``reps`` calls between two ``sync()``s."""
    fn()
    sync()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t) / reps


def cupy_or_none() -> Any:
    """The cupy module when CuPy and a CUDA device are usable here, else None (a peer is optional)."""
    try:
        import cupy as cp

        if cp.cuda.is_available() and cp.cuda.runtime.getDeviceCount() > 0:
            return cp
    except Exception:
        return None
    return None
