"""Helpers the pytest conformance files share (pytest is imported here, not by boostr)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from .. import dtype as _dt
from ..dtype import DType
from ..errors import InvalidArgument
from .cases import Case, Fixed, cases, param_id, params, run_case
from .cases._core import foreign_check


def check_case(case: Case, client: Any, dt: DType) -> None:
    """Pass when the op matches the reference, or when an unsupported dtype is refused with UnsupportedDType."""
    r = run_case(case, client, dt)
    assert r.status in ("pass", "unsupported"), f"{case.id} {dt.name} on {client.device_name}: {r.status}: {r.message}"


def check_foreign(case: Case, client: Any, other: Any) -> None:
    """Every tensor input of ``case``, uploaded on ``other``, is rejected with InvalidArgument naming it."""
    dt = next((d for d in (_dt.f32, _dt.i32, _dt.bool_) if d in case.dtypes), case.dtypes[0])
    if dt not in client.compute_dtypes or dt not in other.storage_dtypes:
        pytest.skip(f"{dt.name} is not computed on both clients")
    problems = foreign_check(case, client, other, dt)
    assert not problems, "\n".join(problems)


def case_params(family: str) -> Any:
    """``pytest.mark.parametrize`` over (case, dtype) of one family."""
    return pytest.mark.parametrize(("case", "dt"), params(family), ids=param_id)


def foreign_params(family: str) -> Any:
    """``pytest.mark.parametrize`` over the cases of a family that take tensor inputs, one per op."""
    seen: set[str] = set()
    picked = []
    for c in cases(family):
        if c.foreign and c.op not in seen and _has_tensor_inputs(c):
            seen.add(c.op)
            picked.append(c)
    return pytest.mark.parametrize("case", picked, ids=param_id)


def _has_tensor_inputs(c: Case) -> bool:
    raw = c.build(np.random.default_rng(0), c.dtypes[0])
    return any(isinstance(v, (np.ndarray, Fixed, list)) for v in raw.values())


def raises_arg(fn: Callable[[], Any], arg: str, exc_type: type[Exception] = InvalidArgument) -> Exception:
    """``fn()`` must raise ``exc_type`` (InvalidArgument by default) whose ``.arg`` is ``arg``."""
    with pytest.raises(exc_type) as info:
        fn()
    got = getattr(info.value, "arg", None)
    assert got == arg, f"expected the error to name {arg!r}, it named {got!r}: {info.value}"
    return info.value
