#!/usr/bin/env python3
"""boostr CUDA against bare CuPy, in one run on one device.

Ops: add and sum over 256M f32; softmax, rms_norm and add+rms_norm over 8192 x 8192 in bf16
and f32; matmul 8192^3 in bf16 and f32; boostr's per-op host overhead in microseconds.
CuPy has no bf16: its peer for a bf16 op is the same op in f16 (same bytes moved, cuBLAS
tensor cores for matmul). Composite CuPy versions are what a CuPy user would write.
GPU times: CUDA events around back-to-back calls (median of 3 batches); ``ratio`` = CuPy time / boostr time
(> 1: boostr faster).
``python benchmarks/bench_cuda.py [--json out.json] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boostr


def gpu_ms(cp: Any, fn: Callable[[], Any], reps: int) -> float:
    """GPU milliseconds per call: CUDA events around ``reps`` back-to-back calls (the queue stays
    full, so host-side launch gaps do not count), the median of 3 such batches."""
    fn()
    cp.cuda.get_current_stream().synchronize()
    times = []
    for _ in range(3):
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        end.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, end) / reps)
    times.sort()
    return times[1]


def host_us(cp: Any, fn: Callable[[], Any], n: int = 2000) -> float:
    for _ in range(50):
        fn()
    cp.cuda.get_current_stream().synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    dt = time.perf_counter() - t0
    cp.cuda.get_current_stream().synchronize()
    return dt / n * 1e6


Record = Callable[..., None]


def _bench_big(g: Any, cp: Any, big: int, reps: int, record: Record) -> None:
    a, b = g.rand(big), g.rand(big)
    ca, cb = g._cp_view(a), g._cp_view(b)
    record(f"add f32 [{big}]", gpu_ms(cp, lambda: g.add(a, b), reps), gpu_ms(cp, lambda: cp.add(ca, cb), reps))
    record(f"sum f32 [{big}]", gpu_ms(cp, lambda: g.sum(a), reps), gpu_ms(cp, lambda: cp.sum(ca), reps))


def _bench_rows(g: Any, cp: Any, dt: str, peer_dt: Any, rows: int, reps: int, eps: float, record: Record) -> None:
    x, r, w = g.randn(rows, rows, dtype=dt), g.randn(rows, rows, dtype=dt), g.rand(rows, dtype=dt)
    px = cp.random.standard_normal((rows, rows), dtype=cp.float32).astype(peer_dt)
    pr = cp.random.standard_normal((rows, rows), dtype=cp.float32).astype(peer_dt)
    pw = cp.random.random(rows, dtype=cp.float32).astype(peer_dt)

    def cp_softmax() -> Any:
        e = cp.exp(px - px.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def cp_rms(v: Any) -> Any:
        ms = cp.mean(cp.square(v.astype(cp.float32)), axis=-1, keepdims=True)
        return (v * cp.reciprocal(cp.sqrt(ms + eps)).astype(v.dtype)) * pw

    def cp_add_rms() -> Any:
        s = px + pr
        return cp_rms(s), s

    shape = f"[{rows}x{rows}]"
    record(f"softmax {dt} {shape}", gpu_ms(cp, lambda: g.softmax(x, -1), reps), gpu_ms(cp, cp_softmax, reps))
    ours = gpu_ms(cp, lambda: g.rms_norm(x, w, eps), reps)
    record(f"rms_norm {dt} {shape}", ours, gpu_ms(cp, lambda: cp_rms(px), reps))
    ours = gpu_ms(cp, lambda: g.add_rms_norm(x, r, w, eps), reps)
    record(f"add+rms_norm {dt} {shape}", ours, gpu_ms(cp, cp_add_rms, reps))


def _bench_matmul(g: Any, cp: Any, dt: str, peer_dt: Any, mm: int, reps: int, record: Record) -> None:
    x, y = g.randn(mm, mm, dtype=dt), g.randn(mm, mm, dtype=dt)
    px = cp.random.standard_normal((mm, mm), dtype=cp.float32).astype(peer_dt)
    py = cp.random.standard_normal((mm, mm), dtype=cp.float32).astype(peer_dt)
    ours = gpu_ms(cp, lambda: g.matmul(x, y), reps)
    record(f"matmul {dt} {mm}^3", ours, gpu_ms(cp, lambda: cp.matmul(px, py), reps), 2.0 * mm**3)


def profile_overhead(g: Any, cp: Any, n: int = 3000) -> int:
    """cProfile of tiny ops (launch-bound): where boostr's per-op host microseconds go."""
    import cProfile
    import pstats

    s1, s2 = g.rand(1024), g.rand(1024)
    xs = g.randn(4, 256, dtype="bf16")
    for name, fn in (
        ("add", lambda: g.add(s1, s2)),
        ("add_scalar", lambda: g.add(s1, 1.0)),
        ("sum", lambda: g.sum(s1)),
        ("rms_norm_bf16", lambda: g.rms_norm(xs, None, 1e-6)),
    ):
        print(f"== {name}: {host_us(cp, fn):.1f} us/call")
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            fn()
        prof.disable()
        cp.cuda.get_current_stream().synchronize()
        pstats.Stats(prof).sort_stats("tottime").print_stats(14)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description="boostr CUDA vs CuPy")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    ap.add_argument("--profile", action="store_true", help="only cProfile the tiny-op host path and exit")
    args = ap.parse_args()
    import cupy as cp

    g = boostr.get_client("cuda")
    if args.profile:
        return profile_overhead(g, cp)
    info = g.info()
    print(f"device: {info['name']} (sm {info['compute_capability']}), CuPy {info['cupy']}, CUDA {info['cuda_runtime']}")
    big = 1 << (22 if args.quick else 28)
    rows = 1024 if args.quick else 8192
    mm = 2048 if args.quick else 8192
    reps = 5 if args.quick else 20
    eps = 1e-6
    results: list[dict[str, Any]] = []

    def record(name: str, ours: float, peer: float, flops: float = 0.0) -> None:
        row = {"op": name, "boostr_ms": round(ours, 4), "cupy_ms": round(peer, 4), "ratio": round(peer / ours, 3)}
        if flops:
            row["boostr_tflops"] = round(flops / ours / 1e9, 1)
            row["cupy_tflops"] = round(flops / peer / 1e9, 1)
        results.append(row)
        extra = f"  ({row['boostr_tflops']} vs {row['cupy_tflops']} TFLOP/s)" if flops else ""
        print(f"{name:32s} boostr {ours:9.3f} ms   cupy {peer:9.3f} ms   ratio {row['ratio']:6.3f}{extra}")

    _bench_big(g, cp, big, reps, record)
    for dt, peer_dt in (("bf16", cp.float16), ("f32", cp.float32)):
        _bench_rows(g, cp, dt, peer_dt, rows, reps, eps, record)
    for dt, peer_dt in (("bf16", cp.float16), ("f32", cp.float32)):
        _bench_matmul(g, cp, dt, peer_dt, mm, max(3, reps // 4), record)

    # per-op host overhead (tiny tensors: launch-bound)
    s1, s2 = g.rand(1024), g.rand(1024)
    c1, c2 = g._cp_view(s1), g._cp_view(s2)
    xs = g.randn(4, 256, dtype="bf16")
    overhead = {
        "add": host_us(cp, lambda: g.add(s1, s2)),
        "add_scalar": host_us(cp, lambda: g.add(s1, 1.0)),
        "sum": host_us(cp, lambda: g.sum(s1)),
        "rms_norm_bf16": host_us(cp, lambda: g.rms_norm(xs, None, eps)),
        "cupy_add": host_us(cp, lambda: cp.add(c1, c2)),
        "cupy_sum": host_us(cp, lambda: cp.sum(c1)),
    }
    print("per-op host overhead (us/call): " + ", ".join(f"{k} {v:.1f}" for k, v in overhead.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"device": info, "results": results, "overhead_us": overhead}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
