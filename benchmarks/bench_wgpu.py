"""WebGPU backend benchmarks, printed next to CuPy (same run) when CuPy + CUDA are available.

    python benchmarks/bench_wgpu.py            # full sizes (GPU machine)
    python benchmarks/bench_wgpu.py --small    # software adapter sizes (lavapipe)

Rows: matmul f32 / f16 (TFLOP/s), add and sum of f32 (GB/s), softmax and rms_norm (GB/s),
and the CPU-side cost of recording one dispatch (us).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import boostr


def _time(fn: Callable[[], Any], sync: Callable[[], None], reps: int) -> float:
    fn()
    sync()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t) / reps


def _cupy() -> Any:
    try:
        import cupy as cp

        if cp.cuda.is_available() and cp.cuda.runtime.getDeviceCount() > 0:
            return cp
    except Exception:
        return None
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--small", action="store_true", help="sizes for a software adapter")
    ap.add_argument("--reps", type=int, default=0)
    args = ap.parse_args()
    mm, n_flat, rows = (256, 1 << 22, 512) if args.small else (4096, 1 << 28, 8192)
    reps = args.reps or (3 if args.small else 10)
    c = boostr.get_client("wgpu")
    info = c.info()
    print(f"adapter: {info['adapter']} ({info['backend']}, {info['adapter_type']}), features {info['features']}")
    cp = _cupy()
    if cp is not None:
        print(f"peer: CuPy {cp.__version__} on {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    rng = np.random.default_rng(0)
    rows_out: list[tuple[str, float, float | None, str]] = []

    def bench(name: str, unit: str, work: float, wg: Callable[[], Any], cu: Callable[[], Any] | None) -> None:
        t = _time(wg, c.sync, reps)
        tc = _time(cu, cp.cuda.Device().synchronize, reps) if cu is not None and cp is not None else None
        rows_out.append((name, work / t, work / tc if tc else None, unit))

    for dt, npdt in (("f32", np.float32), ("f16", np.float16)):
        if dt not in {d.name for d in c.compute_dtypes}:
            continue
        a_np = rng.standard_normal((mm, mm)).astype(npdt)
        a = c.from_numpy(a_np)
        ca = cp.asarray(a_np) if cp is not None else None
        bench(f"matmul {dt} {mm}^3", "TFLOP/s", 2 * mm**3 / 1e12, lambda a=a: c.matmul(a, a),
              (lambda ca=ca: ca @ ca) if cp is not None else None)  # fmt: skip
    x_np = rng.standard_normal(n_flat).astype(np.float32)
    x = c.from_numpy(x_np)
    cx = cp.asarray(x_np) if cp is not None else None
    bench(f"add f32 {n_flat >> 20}M", "GB/s", 3 * 4 * n_flat / 1e9, lambda: c.add(x, x),
          (lambda: cx + cx) if cp is not None else None)  # fmt: skip
    bench(
        f"sum f32 {n_flat >> 20}M",
        "GB/s",
        4 * n_flat / 1e9,
        lambda: c.sum(x),
        (lambda: cx.sum()) if cp is not None else None,
    )
    m_np = rng.standard_normal((rows, rows)).astype(np.float32)
    m = c.from_numpy(m_np)
    cm = cp.asarray(m_np) if cp is not None else None

    def cp_softmax() -> Any:
        e = cp.exp(cm - cm.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def cp_rms() -> Any:
        return cm * (1.0 / cp.sqrt((cm * cm).mean(axis=1, keepdims=True) + 1e-6))

    bench(f"softmax {rows}x{rows}", "GB/s", 8 * rows * rows / 1e9, lambda: c.softmax(m, -1),
          cp_softmax if cp is not None else None)  # fmt: skip
    bench(f"rms_norm {rows}x{rows}", "GB/s", 8 * rows * rows / 1e9, lambda: c.rms_norm(m),
          cp_rms if cp is not None else None)  # fmt: skip
    print(f"{'benchmark':<24}{'wgpu':>14}{'CuPy':>14}{'ratio':>8}")
    for name, v, vc, unit in rows_out:
        peer = f"{vc:10.3f}" if vc else "       n/a"
        ratio = f"{v / vc:8.2f}" if vc else "     n/a"
        print(f"{name:<24}{v:10.3f} {unit:<3}{peer} {unit:<3}{ratio}")
    small = c.from_numpy(np.ones(256, np.float32))
    c.add(small, 1.0)
    c.sync()
    n = 500
    t = time.perf_counter()
    for _ in range(n):
        c.add(small, 1.0)
    record = (time.perf_counter() - t) / n
    c.sync()
    print(f"CPU-side cost of one dispatch (recorded, batched): {record * 1e6:.1f} us")
    if cp is not None:
        cs = cp.ones(256, cp.float32)
        cs + 1.0
        cp.cuda.Device().synchronize()
        t = time.perf_counter()
        for _ in range(n):
            cs + 1.0
        print(f"CuPy elementwise launch: {(time.perf_counter() - t) / n * 1e6:.1f} us")


if __name__ == "__main__":
    main()
