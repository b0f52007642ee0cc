"""numba kernels for the CPU backend.

The numba cache must be writable: when neither the package folder nor
``NUMBA_CACHE_DIR`` is, point ``NUMBA_CACHE_DIR`` at boostr's cache dir before the
first kernel module is imported.
"""

from __future__ import annotations

import os


def _ensure_numba_cache(here: str | None = None) -> None:
    """Set ``NUMBA_CACHE_DIR`` to boostr's cache dir unless it is set or ``here/__pycache__`` is writable."""
    if here is None:
        here = os.path.dirname(os.path.abspath(__file__))
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    probe = os.path.join(here, "__pycache__")
    try:
        os.makedirs(probe, exist_ok=True)
        test = os.path.join(probe, f".w{os.getpid()}")
        with open(test, "wb"):
            pass
        os.unlink(test)
    except OSError:
        from ...config import cache_dir

        os.environ["NUMBA_CACHE_DIR"] = str(cache_dir("numba"))
        import numba

        numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]  # type: ignore[attr-defined]


_ensure_numba_cache()
