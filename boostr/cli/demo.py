"""``boostr demo``: a short tour of ops on one backend, each step timed.

Every step runs twice: the first call includes one-time work (numba JIT, kernel
compilation, pipeline creation); the second shows the steady state.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import backend_arg


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="a short timed tour of ops on one backend")
    p.add_argument(
        "--backend", type=backend_arg, default=None, help="cpu, cuda, cuda:N, wgpu (default: the configured backend)"
    )
    p.add_argument("--size", type=int, default=256, help="matrix size for matmul/softmax/rms_norm (default 256)")
    p.set_defaults(func=run)


def _timed(client: Any, fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``fn`` twice, syncing the device; return (result, first ms, second ms)."""
    times = []
    out = None
    for _ in range(2):
        t0 = time.perf_counter()
        out = fn()
        client.sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return out, times[0], times[1]


def _show(x: Any) -> str:
    text = np.array2string(x.numpy(), precision=4, suppress_small=True, separator=", ", max_line_width=10**6)
    return text.replace("\n", "")


def run(args: argparse.Namespace) -> int:
    import boostr

    from ..config import resolve_backend

    name = args.backend or resolve_backend()
    try:
        client = boostr.get_client(name)
    except boostr.BackendUnavailable as exc:
        print(f"boostr demo: {exc}")
        return 1
    n = args.size
    if n < 4:
        print(f"boostr demo: --size must be at least 4, received {n}")
        return 2
    print(f"boostr demo on {client.device_name}  ({type(client).__name__}); times: first call / again, in ms\n")
    gen = boostr.Generator(seed=0)
    steps: list[tuple[str, Callable[[], Any], Callable[[Any], str]]] = [
        ("arange(6).reshape(2, 3)", lambda: boostr.arange(6, backend=name).reshape(2, 3), _show),
        ("full((2, 3), 0.5, f16)", lambda: boostr.full((2, 3), 0.5, dtype="f16", backend=name), _show),
        ("randn(2, 4), Philox seed 0", lambda: boostr.randn(2, 4, generator=gen.manual_seed(0), backend=name), _show),
        (
            "broadcast: a[2,3] + b[3] * 10",
            lambda: boostr.arange(6, backend=name).reshape(2, 3) + boostr.arange(3, backend=name) * 10,
            _show,
        ),
        (
            "broadcast + promotion: i64[2,1] / f32[3]",
            lambda: boostr.arange(2, backend=name).reshape(2, 1) / boostr.ones(3, backend=name),
            lambda t: f"{_show(t)}  dtype={t.dtype}",
        ),
    ]
    a = boostr.randn(n, n, generator=gen.manual_seed(1), backend=name)
    b = boostr.randn(n, n, generator=gen, backend=name)
    w = boostr.ones(n, backend=name)
    ref = a.numpy().astype(np.float64) @ b.numpy().astype(np.float64)
    steps += [
        (
            f"matmul [{n},{n}] @ [{n},{n}]",
            lambda: a @ b,
            lambda t: f"max |err| vs float64 numpy = {np.abs(t.numpy() - ref).max():.2e}",
        ),
        (
            f"softmax [{n},{n}] over the last dim",
            lambda: a.softmax(-1),
            lambda t: f"row sums in [{t.sum(-1).min().item():.6f}, {t.sum(-1).max().item():.6f}]",
        ),
        (
            f"rms_norm [{n},{n}], eps 1e-6",
            lambda: boostr.rms_norm(a, w, 1e-6),
            lambda t: f"mean(x^2) per row ~ 1: {float(np.mean(t.numpy().astype(np.float64) ** 2)):.5f}",
        ),
        (
            f"topk(k=3) of row 0 of [{n},{n}]",
            lambda: boostr.topk(a[0], 3),
            lambda vi: f"values {_show(vi[0])} at {_show(vi[1])}",
        ),
    ]
    total = time.perf_counter()
    for title, fn, describe in steps:
        try:
            out, first, again = _timed(client, fn)
        except boostr.UnsupportedDType as exc:  # e.g. f16 on an adapter without shader-f16
            print(f"{title:<42} skipped: {exc}")
            continue
        print(f"{title:<42} {first:9.2f} / {again:8.2f}   {describe(out)}")
    print(f"\ntotal {(time.perf_counter() - total):.2f} s on {client.device_name}")
    return 0
