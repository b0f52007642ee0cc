"""Tolerances per (backend, dtype), NMSE and ``assert_close``.

A result passes when every element satisfies ``|a - e| <= atol + rtol * |e|``,
NaN sits exactly where the reference has NaN, and infinities match in sign.
NMSE is ``sum((a - e)^2) / sum(e^2)`` over the finite positions, as in
llama.cpp's test-backend-ops; it is reported with every comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import dtype as _dt
from ..dtype import DType


@dataclass(frozen=True)
class Tol:
    rtol: float
    atol: float

    def scaled(self, k: float) -> Tol:
        return Tol(self.rtol * k, self.atol * k)


# One rounding of the output plus a few ulps of f32 (or f64) arithmetic.
_BASE: dict[str, Tol] = {
    "f64": Tol(1e-10, 1e-12),
    "f32": Tol(2e-5, 2e-6),
    "f16": Tol(2e-3, 1e-3),
    "bf16": Tol(1.6e-2, 1e-2),
    "fp8_e4m3": Tol(1.3e-1, 2e-2),
    "fp8_e5m2": Tol(2.6e-1, 4e-2),
}
# GPU transcendental functions and reduction orders differ from the CPU's libm.
_BACKEND_FACTOR: dict[str, float] = {"cpu": 1.0, "cuda": 2.0, "wgpu": 8.0}


def tolerance(backend: str, dtype: DType | str) -> Tol:
    """The tolerance of ``backend`` (``cpu``, ``cuda:0``, ``wgpu``) for results of ``dtype``."""
    dt = _dt.dtype(dtype)
    kind = backend.partition(":")[0]
    if not dt.is_float:
        return Tol(0.0, 0.0)
    base = _BASE[dt.name]
    if dt.is_half:  # the output rounding dominates: GPU arithmetic error stays below it
        return base
    return base.scaled(_BACKEND_FACTOR.get(kind, 8.0))


def nmse(actual: np.ndarray, expected: np.ndarray) -> float:
    """``sum((a - e)^2) / sum(e^2)`` over positions where both are finite (0 when e is all 0)."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    finite = np.isfinite(a) & np.isfinite(e)
    a, e = a[finite], e[finite]
    num = float(np.sum((a - e) ** 2))
    den = float(np.sum(e**2))
    if den == 0.0:
        return 0.0 if num == 0.0 else float("inf")
    return num / den


@dataclass
class Comparison:
    ok: bool
    max_abs: float
    max_rel: float
    nmse: float
    message: str


def compare(actual: np.ndarray, expected: np.ndarray, tol: Tol) -> Comparison:
    """Elementwise comparison of ``actual`` against the reference ``expected``."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return Comparison(False, float("inf"), float("inf"), float("inf"), f"shape {a.shape} != expected {e.shape}")
    if a.size == 0:
        return Comparison(True, 0.0, 0.0, 0.0, "empty")
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    inf_e = np.isinf(e)
    bad = nan_a != nan_e
    bad |= inf_e & (a != e)
    bad |= np.isinf(a) & ~inf_e & ~nan_e
    finite = np.isfinite(a) & np.isfinite(e)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where(finite, np.abs(a - e), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(finite & (e != 0), err / np.abs(e), 0.0)
    bad |= finite & (err > tol.atol + tol.rtol * np.abs(e))
    max_abs = float(err.max())
    max_rel = float(rel.max())
    score = nmse(a, e)
    if not bad.any():
        return Comparison(True, max_abs, max_rel, score, "ok")
    where = np.argwhere(bad)
    first = tuple(int(i) for i in where[0])
    msg = (
        f"{int(bad.sum())}/{a.size} elements out of tolerance (rtol={tol.rtol:g}, atol={tol.atol:g}); "
        f"first at {first}: got {a[first]!r}, expected {e[first]!r}; max_abs={max_abs:.3g} "
        f"max_rel={max_rel:.3g} nmse={score:.3g}"
    )
    return Comparison(False, max_abs, max_rel, score, msg)


def assert_close(
    actual: np.ndarray,
    expected: np.ndarray,
    dtype: DType | str,
    backend: str = "cpu",
    scale: float = 1.0,
    rtol: float | None = None,
    atol: float | None = None,
) -> Comparison:
    """Assert ``actual`` matches the float64 reference within the (backend, dtype) tolerance.

    ``scale`` widens the tolerance for ops that accumulate (long sums, matmul);
    ``rtol``/``atol`` replace it outright. Returns the comparison (max errors, NMSE).
    """
    tol = tolerance(backend, dtype).scaled(scale)
    tol = Tol(tol.rtol if rtol is None else rtol, tol.atol if atol is None else atol)
    c = compare(actual, expected, tol)
    if not c.ok:
        raise AssertionError(f"[{backend} {_dt.dtype(dtype).name}] {c.message}")
    return c


def assert_equal(actual: np.ndarray, expected: np.ndarray, what: str = "") -> None:
    """Exact equality (integers, bools, indices) with a readable message."""
    a, e = np.asarray(actual), np.asarray(expected)
    if a.shape != e.shape:
        raise AssertionError(f"{what} shape {a.shape} != expected {e.shape}")
    if not np.array_equal(a, e, equal_nan=a.dtype.kind == "f" and e.dtype.kind == "f"):
        diff = np.argwhere(a != e)
        first = tuple(int(i) for i in diff[0]) if len(diff) else ()
        raise AssertionError(
            f"{what} differs at {len(diff)} positions; first {first}: got {a[first]!r}, expected {e[first]!r}"
        )
