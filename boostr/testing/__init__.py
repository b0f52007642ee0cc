"""Testing support: float64 references, tolerances, ``assert_close`` / ``nmse`` and
the conformance cases every backend is run through (``boostr.testing.cases``)."""

from __future__ import annotations

from . import philox, refs
from .tolerances import Comparison, Tol, assert_close, assert_equal, compare, nmse, tolerance

__all__ = ["Comparison", "Tol", "assert_close", "assert_equal", "compare", "nmse", "philox", "refs", "tolerance"]
