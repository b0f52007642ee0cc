"""``boostr conformance``: run the conformance cases on this machine's backends.

Prints, per backend, an op x dtype matrix whose cells are ``max_abs|NMSE`` (the
worst over the op's cases), ``unsup`` where the backend refused the dtype with
``UnsupportedDType``, ``FAIL``/``ERR`` where it got a wrong answer or raised, and
``.`` where the op is not defined for the dtype. Failures are listed after the
matrix. The exit status is 1 when anything failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from .. import dtype as _dt
from ..config import normalize_backend
from ..runtime.registry import available_backends, backend_status, get_client
from ..testing.cases import Case, Result, cases, run_case

_RANK = {"pass": 0, "unsupported": 1, "fail": 2, "error": 3}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="boostr conformance", description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", "-b", action="append", default=[], help="backend(s) to run (default: all available)")
    p.add_argument("--family", "-f", action="append", default=[], help="op families (creation, elementwise, ...)")
    p.add_argument("--op", action="append", default=[], help="only ops whose name contains this text")
    p.add_argument("--dtype", "-d", action="append", default=[], help="only these dtypes (f32, bf16, ...)")
    p.add_argument("--long", action="store_true", help="one line per (case, backend, dtype) instead of the matrix")
    p.add_argument("--failures-only", action="store_true", help="list failures only")
    return p


def _fmt(x: float) -> str:
    return "0" if x == 0 else f"{x:.0e}".replace("e-0", "e-").replace("e+0", "e+")


def _cell(results: list[Result]) -> str:
    if not results:
        return "."
    worst = max(results, key=lambda r: _RANK[r.status])
    if worst.status == "error":
        return "ERR"
    if worst.status == "fail":
        return "FAIL"
    if worst.status == "unsupported":
        return "unsup"
    return f"{_fmt(max(r.max_abs for r in results))}|{_fmt(max(r.nmse for r in results))}"


def _select(args: argparse.Namespace) -> tuple[list[Case], list[_dt.DType]]:
    sel = [c for c in cases() if (not args.family or c.family in args.family)]
    if args.op:
        sel = [c for c in sel if any(o in c.op for o in args.op)]
    dts = [_dt.dtype(d) for d in args.dtype] if args.dtype else list(_dt.ALL_DTYPES)
    return sel, dts


def _backends(names: list[str]) -> list[str]:
    if not names:
        return available_backends()
    out = []
    for raw in names:
        for n in raw.split(","):
            if n.strip():
                out.append(normalize_backend(n))
    return out


def run(backends: list[str], sel: list[Case], dts: list[_dt.DType], long: bool, failures_only: bool) -> int:
    failures: list[str] = []
    for name in backends:
        reason = backend_status(name.partition(":")[0])
        if reason is not None:
            print(f"== {name}: unavailable ({reason})\n")
            continue
        client: Any = get_client(name)
        t0 = time.perf_counter()
        grid: dict[tuple[str, str], list[Result]] = {}
        ops: list[str] = []
        for case in sel:
            key_op = f"{case.family}/{case.op}"
            if key_op not in ops:
                ops.append(key_op)
            for dt in case.dtypes:
                if dt not in dts:
                    continue
                r = run_case(case, client, dt)
                grid.setdefault((key_op, dt.name), []).append(r)
                if r.status in ("fail", "error"):
                    failures.append(f"{client.device_name} {case.family}/{case.id} {dt.name}: {r.status}: {r.message}")
                if long and (not failures_only or r.status in ("fail", "error")):
                    print(f"{client.device_name:8} {case.family + '/' + case.id:48} {dt.name:9} {r.status:11} "
                          f"max_abs={_fmt(r.max_abs):7} nmse={_fmt(r.nmse)}")  # fmt: skip
        elapsed = time.perf_counter() - t0
        if not long and not failures_only:
            _print_matrix(client.device_name, ops, dts, grid, elapsed)
    if failures:
        print(f"{len(failures)} failure(s):")
        for f in failures:
            print("  " + f)
        return 1
    print("all cases passed (or were refused with UnsupportedDType where the backend lacks the dtype)")
    return 0


def _print_matrix(device: str, ops: list[str], dts: list[_dt.DType], grid: dict, elapsed: float) -> None:
    cols = [d.name for d in dts if any((op, d.name) in grid for op in ops)]
    width = max([len(o) for o in ops] + [10])
    cw = max([11] + [len(c) for c in cols])
    counts: dict[str, int] = {}
    for rs in grid.values():
        for r in rs:
            counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    print(f"== {device}  ({summary}; {elapsed:.1f}s)   cell: max_abs|NMSE, unsup = refused dtype, . = n/a")
    print(" " * width + " " + " ".join(c.rjust(cw) for c in cols))
    for op in ops:
        print(op.ljust(width) + " " + " ".join(_cell(grid.get((op, c), [])).rjust(cw) for c in cols))
    print()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``boostr conformance``; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        backends = _backends(args.backend)
        sel, dts = _select(args)
    except ValueError as exc:
        print(f"boostr conformance: {exc}", file=sys.stderr)
        return 2
    if not sel:
        print("boostr conformance: no case matches the filters", file=sys.stderr)
        return 2
    return run(backends, sel, dts, args.long, args.failures_only)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
