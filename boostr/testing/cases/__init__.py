"""The conformance case registry shared by ``tests/conformance`` and ``boostr conformance``.

``cases(family)`` lists registered ``Case`` objects; ``run_case(case, client, dtype)``
runs one on one client and returns a ``Result`` (pass, fail, unsupported, error).
"""

from __future__ import annotations

from . import elementwise, norm_matmul, reduce, shape_index, sort_creation
from ._core import (
    ALL,
    FLOATS,
    INTS,
    NUMERIC,
    REGISTRY,
    Case,
    Fixed,
    Result,
    T,
    cases,
    check_outputs,
    evaluate,
    expand,
    param_id,
    params,
    register,
    run_case,
    supports,
    values,
)

ALL_FAMILIES = (elementwise, reduce, norm_matmul, shape_index, sort_creation)
FAMILIES = ("creation", "elementwise", "reduce", "norm", "matmul", "shape", "indexing", "sort", "random")

__all__ = [
    "ALL", "ALL_FAMILIES", "FAMILIES", "FLOATS", "INTS", "NUMERIC", "REGISTRY", "Case", "Fixed", "Result", "T",
    "cases", "check_outputs", "evaluate", "expand", "param_id", "params", "register", "run_case", "supports", "values",
]  # fmt: skip
