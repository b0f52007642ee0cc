"""Conformance cases as data, and the one runner that both pytest and the CLI use.

A ``Case`` says: which op (family, op, variant), which dtypes it is meant for,
how to build host inputs, the float64 reference, and how to call the op on a
client. ``run_case(case, client, dtype)`` builds, calls, downloads and compares;
a dtype the client does not support must be refused with ``UnsupportedDType``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ml_dtypes
import numpy as np

from ... import dtype as _dt
from ...dtype import DType
from ...errors import UnsupportedDType
from ...tensor import Tensor
from ..tolerances import compare, tolerance

FLOATS: tuple[DType, ...] = _dt.FLOAT_DTYPES
INTS: tuple[DType, ...] = _dt.INT_DTYPES
NUMERIC: tuple[DType, ...] = FLOATS + INTS
ALL: tuple[DType, ...] = _dt.ALL_DTYPES


@dataclass(frozen=True)
class Fixed:
    """A case input uploaded in its own dtype (``"index"``: the client's default int)."""

    arr: Any
    dtype: str | None = None


@dataclass(frozen=True)
class Case:
    """One conformance case; ``id`` is ``op[variant]``."""

    family: str
    op: str
    variant: str
    dtypes: tuple[DType, ...]
    build: Callable[[np.random.Generator, DType], dict[str, Any]]
    ref: Callable[..., Any]
    call: Callable[..., Any]
    view: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    scale: float = 1.0
    storage_only: bool = False
    out_dtype: str | Sequence[str] = "same"
    exact: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)
    argmap: tuple[tuple[str, str], ...] = ()  # input key -> the argument name errors must report
    foreign: bool = True  # run the foreign-client check on this case

    @property
    def id(self) -> str:
        return f"{self.op}[{self.variant}]"


@dataclass
class Result:
    """The outcome of one (case, backend, dtype): ``status`` is pass, fail, unsupported or error."""

    status: str
    max_abs: float = 0.0
    nmse: float = 0.0
    message: str = ""


REGISTRY: list[Case] = []


def register(*cases: Case) -> None:
    REGISTRY.extend(cases)


def supports(case: Case, client: Any, dt: DType) -> bool:
    """Whether ``client`` must run ``case`` in ``dt`` (else it must raise UnsupportedDType)."""
    return dt in (client.storage_dtypes if case.storage_only else client.compute_dtypes)


# --------------------------------------------------------------- view helpers
def T(x: Any) -> Any:  # noqa: N802 - a transpose, as numpy spells it
    """Swap the last two dims of a Tensor or a numpy array (a non-contiguous view)."""
    return x.transpose(-2, -1) if isinstance(x, Tensor) else np.swapaxes(x, -2, -1)


def expand(x: Any, *shape: int) -> Any:
    """Broadcast view (stride 0) of a Tensor or a numpy array."""
    return x.expand(*shape) if isinstance(x, Tensor) else np.broadcast_to(x, shape)


# ------------------------------------------------------------ input builders
def values(rng: np.random.Generator, dt: DType, *shape: int, lo: float = -3.0, hi: float = 3.0) -> np.ndarray:
    """Random values suited to ``dt``: floats in [lo, hi), ints in [lo, hi] (clipped to dt), bools."""
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.is_int:
        info = np.iinfo(dt.np_dtype)
        a, b = max(int(np.floor(lo)), info.min), min(int(np.ceil(hi)), info.max)
        return rng.integers(a, b + 1, size=shape).astype(np.int64)
    return rng.uniform(lo, hi, size=shape)


def seed_of(case: Case, dt: DType) -> int:
    return zlib.crc32(f"{case.id}/{dt.name}".encode())


def _host(v: Any, dt: DType) -> Any:
    """Reference-side value: inputs rounded to ``dt`` first, then widened exactly."""
    if isinstance(v, Fixed):
        return np.asarray(v.arr)
    if isinstance(v, list):
        return [_host(e, dt) for e in v]
    if isinstance(v, np.ndarray):
        q = v.astype(dt.np_dtype)
        if dt.is_float:
            return q.astype(np.float64)
        return q if dt.kind == "b" else q.astype(np.int64)
    return v


def _device(client: Any, v: Any, dt: DType) -> Any:
    if isinstance(v, Fixed):
        d = client.default_int if v.dtype == "index" else v.dtype
        return client.from_numpy(np.asarray(v.arr), d)
    if isinstance(v, list):
        return [_device(client, e, dt) for e in v]
    if isinstance(v, np.ndarray):
        return client.from_numpy(v.astype(dt.np_dtype), dt)
    return v


def _expected_dtype(rule: str, dt: DType, client: Any) -> DType | None:
    if rule == "same":
        return dt
    if rule == "bool":
        return _dt.bool_
    if rule == "index":
        return client.default_int
    if rule == "float":
        return dt if dt.is_float else _dt.f32
    if rule == "acc":  # sums: floats keep their dtype, ints and bools accumulate in the default int
        return dt if dt.is_float else client.default_int
    if rule == "any":
        return None
    return _dt.dtype(rule)


def evaluate(case: Case, client: Any, dt: DType) -> tuple[list[Tensor], list[np.ndarray]]:
    """Build inputs, call the op on ``client`` and the reference; returns (outputs, expected)."""
    rng = np.random.default_rng(seed_of(case, dt))
    raw = case.build(rng, dt)
    host = {k: _host(v, dt) for k, v in raw.items()}
    dev = {k: _device(client, v, dt) for k, v in raw.items()}
    if case.view is not None:
        host, dev = case.view(host), case.view(dev)
    out = case.call(client, **dev)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    with np.errstate(all="ignore"):
        exp = case.ref(**host)
    exps = list(exp) if isinstance(exp, (tuple, list)) else [exp]
    return outs, [np.asarray(e) for e in exps]


def check_outputs(case: Case, client: Any, dt: DType, outs: list[Any], exps: list[np.ndarray]) -> Result:
    if len(outs) != len(exps):
        return Result("fail", message=f"{len(outs)} outputs, expected {len(exps)}")
    rules = [case.out_dtype] * len(outs) if isinstance(case.out_dtype, str) else list(case.out_dtype)
    worst_abs, worst_nmse = 0.0, 0.0
    for i, (o, e) in enumerate(zip(outs, exps, strict=True)):
        if not isinstance(o, Tensor):
            return Result("fail", message=f"output {i} is a {type(o).__name__}, expected a boostr.Tensor")
        want = _expected_dtype(rules[i], dt, client)
        if want is not None and o.dtype is not want:
            return Result("fail", message=f"output {i} has dtype {o.dtype}, expected {want}")
        if o.shape != e.shape:
            return Result("fail", message=f"output {i} has shape {o.shape}, expected {e.shape}")
        a = o.numpy()
        if a.shape != o.shape or a.dtype != o.dtype.np_dtype:
            return Result("fail", message=f"output {i}: numpy() gave {a.shape} {a.dtype} for {o.shape} {o.dtype}")
        if case.exact or not o.dtype.is_float:
            # integer results wrap like the dtype (C casts); floats round to the output dtype
            want_np = e.astype(o.dtype.np_dtype) if o.dtype.kind != "b" else e
            same = np.array_equal(a.astype(np.float64), np.asarray(want_np).astype(np.float64), equal_nan=True)
            if not same:
                bad = np.argwhere(a.astype(np.float64) != np.asarray(want_np).astype(np.float64))
                pos = tuple(int(j) for j in bad[0]) if len(bad) else ()
                return Result(
                    "fail",
                    message=f"output {i} not exact: {len(bad)} differ, first {pos}: "
                    f"got {a[pos]!r}, expected {np.asarray(want_np)[pos]!r}",
                )
            continue
        c = compare(a, _overflow_to_inf(e, o.dtype), tolerance(client.device_name, o.dtype).scaled(case.scale))
        if not c.ok:
            return Result("fail", c.max_abs, c.nmse, f"output {i}: {c.message}")
        worst_abs, worst_nmse = max(worst_abs, c.max_abs), max(worst_nmse, c.nmse)
    return Result("pass", worst_abs, worst_nmse)


def _overflow_to_inf(e: np.ndarray, dt: DType) -> np.ndarray:
    """Reference values beyond the output dtype's range round to +-inf (not for e4m3, which has none)."""
    if dt is _dt.fp8_e4m3 or not e.size:
        return e
    big = float(ml_dtypes.finfo(dt.np_dtype).max)
    e = np.asarray(e, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(
            np.abs(e) > big * (1 + 2.0 ** -(ml_dtypes.finfo(dt.np_dtype).nmant + 1)), np.sign(e) * np.inf, e
        )


def run_case(case: Case, client: Any, dt: DType) -> Result:
    """Run one case on one client in one dtype; never raises for op failures."""
    must_run = supports(case, client, dt)
    try:
        outs, exps = evaluate(case, client, dt)
    except UnsupportedDType as exc:
        if must_run:
            return Result("fail", message=f"refused a supported dtype: {exc}")
        return Result("unsupported", message=str(exc))
    except Exception as exc:
        return Result("error", message=f"{type(exc).__name__}: {exc}")
    if not must_run:
        return Result("fail", message=f"{dt} is not supported by {client.device_name} but was not refused")
    try:
        return check_outputs(case, client, dt, outs, exps)
    except Exception as exc:
        return Result("error", message=f"{type(exc).__name__} while checking: {exc}")


def foreign_check(case: Case, client: Any, other: Any, dt: DType) -> list[str]:
    """Upload each tensor input on ``other`` in turn; the op must raise InvalidArgument naming it.

    Returns the list of problems (empty when every input was rejected correctly).
    """
    from ...errors import InvalidArgument

    raw = case.build(np.random.default_rng(seed_of(case, dt)), dt)
    names = dict(case.argmap)
    problems = []
    targets: list[tuple[str, int | None]] = [(k, None) for k, v in raw.items() if isinstance(v, (np.ndarray, Fixed))]
    targets += [(k, i) for k, v in raw.items() if isinstance(v, list) for i in range(len(v))]
    for key, pos in targets:
        dev = {k: _device(client, v, dt) for k, v in raw.items()}
        if pos is None:
            dev[key] = _device(other, raw[key], dt)
            want = names.get(key, key)
        else:
            dev[key] = list(dev[key])
            dev[key][pos] = _device(other, raw[key][pos], dt)
            want = f"{key}[{pos}]"
        if case.view is not None:
            dev = case.view(dev)
        try:
            case.call(client, **dev)
        except InvalidArgument as exc:
            if exc.arg != want:
                problems.append(f"{case.id}: foreign {key!r} reported as arg {exc.arg!r}, expected {want!r}")
        except Exception as exc:
            problems.append(f"{case.id}: foreign {key!r} raised {type(exc).__name__}: {exc}")
        else:
            problems.append(f"{case.id}: a tensor {key!r} from {other.device_name} was accepted")
    return problems


def cases(family: str | None = None, op: str | None = None) -> list[Case]:
    """Registered cases, optionally of one family or one op."""
    from . import ALL_FAMILIES  # noqa: F401  (registers every family)

    return [c for c in REGISTRY if (family is None or c.family == family) and (op is None or c.op == op)]


def params(family: str) -> list[tuple[Case, DType]]:
    """(case, dtype) pairs for pytest parametrization of one family."""
    return [(c, d) for c in cases(family) for d in c.dtypes]


def param_id(val: Any) -> str:
    if isinstance(val, Case):
        return val.id
    if isinstance(val, DType):
        return val.name
    return str(val)
