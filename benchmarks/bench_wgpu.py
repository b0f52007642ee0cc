"""WebGPU backend benchmarks, each next to CuPy in the same run when CuPy + CUDA are available.

    python benchmarks/bench_wgpu.py            # full sizes (GPU machine, about a minute on an H100)
    python benchmarks/bench_wgpu.py --small    # software adapter sizes (lavapipe)

Rows: matmul f32 / f16 (TFLOP/s, with a float64 spot check of 8 output rows), add and sum of f32
(GB/s: add moves 12 bytes per element, sum 4), softmax and rms_norm over rows (GB/s at 8 bytes per
element: one read, one write), then CPU-side costs in microseconds per op, split into recording
(public API call to recorded dispatch) and submitting (ending the pass, wgpu's validation, submit):
a tiny ``add``, the hook alone replaying its cached launch plan, and a decode-like sequence of ops
(rms_norm, GEMVs, softmax, silu, mul, add at SmolLM2-135M sizes).
CuPy's rows use its natural code (``a @ b``, ``a + b``, ``a.sum()``, softmax / rms_norm spelled
with cupy ops: several kernels each, no fused peer).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import cupy_or_none as _cupy
from _common import wall_time as _time

import boostr


def _submitted(c: Any, fn: Callable[[], Any], ops: int) -> tuple[float, float]:
    """``(record, submit)`` microseconds per op: ``fn`` records ``ops`` dispatches (fewer than the engine's
    max batch, so nothing is submitted meanwhile), then one flush ends the pass and submits it (wgpu's
    own validation and encoding happen there); the GPU is not waited for."""
    c.sync()
    t0 = time.perf_counter()
    fn()
    t1 = time.perf_counter()
    c.engine.flush()
    t2 = time.perf_counter()
    c.sync()
    return (t1 - t0) / ops * 1e6, (t2 - t1) / ops * 1e6


def _best(c: Any, fn: Callable[[], Any], ops: int, trials: int = 5) -> tuple[float, float]:
    got = [_submitted(c, fn, ops) for _ in range(trials)]
    return min(g[0] for g in got), min(g[1] for g in got)


def _decode_cost(c: Any, layers: int, ops: int) -> tuple[float, float]:
    """CPU-side ``(record, submit)`` microseconds per op of a decode-like sequence."""
    rng = np.random.default_rng(1)
    d, f, t = 576, 1536, 128

    def w(*s: int) -> Any:
        return c.from_numpy((rng.standard_normal(s) * 0.05).astype(np.float32))

    ls = [dict(q=w(d, d), k=w(192, d), v=w(192, d), o=w(d, d), g=w(f, d), u=w(f, d), dn=w(d, f), n1=w(d), n2=w(d),
               K=w(3, t, 64), V=w(3, t, 64)) for _ in range(layers)]  # fmt: skip
    x0 = w(1, d)
    count = [0]

    def step(x: Any) -> Any:
        n = 0
        for lw in ls:
            h = c.rms_norm(x, lw["n1"])
            q, _, _ = c.matmul(h, lw["q"].T), c.matmul(h, lw["k"].T), c.matmul(h, lw["v"].T)
            p = c.softmax(c.mul(c.matmul(q.reshape(3, 3, 64), lw["K"].permute(0, 2, 1)), 0.125), -1)
            x = c.add(x, c.matmul(c.matmul(p, lw["V"]).reshape(1, d), lw["o"].T))
            h = c.rms_norm(x, lw["n2"])
            x = c.add(x, c.matmul(c.mul(c.silu(c.matmul(h, lw["g"].T)), c.matmul(h, lw["u"].T)), lw["dn"].T))
            n += 17
        count[0] = n
        return x

    for _ in range(3):  # launch plans and bind groups are made here
        step(x0)
    steps = max(1, ops // (17 * layers))  # stay below the engine's max batch

    def run() -> None:
        for _ in range(steps):
            step(x0)

    return _best(c, run, steps * count[0])


Bench = Callable[[str, str, float, Callable[[], Any], Callable[[], Any] | None], None]


def _matmul(c: Any, cp: Any, bench: Bench, rng: Any, mm: int, dt: str, npdt: Any) -> None:
    a_np = rng.standard_normal((mm, mm)).astype(npdt)
    b_np = rng.standard_normal((mm, mm)).astype(npdt)
    a, b = c.from_numpy(a_np), c.from_numpy(b_np)
    rows_chk = rng.choice(mm, 8, replace=False)
    got = c.matmul(a, b).numpy()[rows_chk].astype(np.float64)
    want = a_np[rows_chk].astype(np.float64) @ b_np.astype(np.float64)
    err = np.abs(got - want).max() / np.abs(want).max()
    print(f"matmul {dt} {mm}^3 spot check: max error {err:.1e} of the largest |value|")
    ca: Any = cp.asarray(a_np) if cp is not None else None
    cb: Any = cp.asarray(b_np) if cp is not None else None
    bench(f"matmul {dt} {mm}^3", "TFLOP/s", 2 * mm**3 / 1e12, lambda: c.matmul(a, b),
          (lambda: ca @ cb) if cp is not None else None)  # fmt: skip


def _flat(c: Any, cp: Any, bench: Bench, n: int) -> None:
    x, y = c.rand(n, dtype="f32"), c.rand(n, dtype="f32")
    cx: Any = cp.random.random(n, dtype=cp.float32) if cp is not None else None
    cy: Any = cp.random.random(n, dtype=cp.float32) if cp is not None else None
    label = f"{n >> 20}M" if n >= 1 << 20 else str(n)
    bench(f"add f32 {label}", "GB/s", 12 * n / 1e9, lambda: c.add(x, y),
          (lambda: cx + cy) if cp is not None else None)  # fmt: skip
    got, want = c.sum(x).item(), float(x.numpy().astype(np.float64).sum())
    print(f"sum f32 spot check: {got:.7g} vs float64 {want:.7g} (rel {abs(got / want - 1):.1e})")
    bench(f"sum f32 {label}", "GB/s", 4 * n / 1e9, lambda: c.sum(x),
          (lambda: cx.sum()) if cp is not None else None)  # fmt: skip


def _rows(c: Any, cp: Any, bench: Bench, rows: int) -> None:
    m = c.randn(rows, rows, dtype="f32")
    cm: Any = cp.random.standard_normal((rows, rows), dtype=cp.float32) if cp is not None else None

    def cp_softmax() -> Any:
        e = cp.exp(cm - cm.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def cp_rms() -> Any:
        return cm * (1.0 / cp.sqrt((cm * cm).mean(axis=1, keepdims=True) + 1e-6))

    bench(f"softmax {rows}x{rows}", "GB/s", 8 * rows * rows / 1e9, lambda: c.softmax(m, -1),
          cp_softmax if cp is not None else None)  # fmt: skip
    bench(f"rms_norm {rows}x{rows}", "GB/s", 8 * rows * rows / 1e9, lambda: c.rms_norm(m),
          cp_rms if cp is not None else None)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--small", action="store_true", help="sizes for a software adapter")
    ap.add_argument("--reps", type=int, default=0)
    args = ap.parse_args()
    mm, n_flat, rows = (256, 1 << 22, 512) if args.small else (4096, 1 << 28, 8192)
    reps = args.reps or (3 if args.small else 10)
    t_start = time.perf_counter()
    c = boostr.get_client("wgpu")
    info = c.info()
    print(f"adapter: {info['adapter']} ({info['backend']}, {info['adapter_type']}, {info['description']})")
    print(f"features: {info['features']}; storage binding limit {c.max_binding >> 20} MiB")
    cp = _cupy()
    if cp is not None:
        print(f"peer: CuPy {cp.__version__} on {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    else:
        print("peer: CuPy with CUDA not available (wgpu figures only)")
    rng = np.random.default_rng(0)
    table: list[tuple[str, float, float | None, str]] = []

    def bench(name: str, unit: str, work: float, wg: Callable[[], Any], cu: Callable[[], Any] | None) -> None:
        """Time ``wg`` on wgpu and ``cu`` on CuPy (same reps); ``work`` in the unit's numerator."""
        t = _time(wg, c.sync, reps)
        tc = _time(cu, cp.cuda.Device().synchronize, reps) if cu is not None and cp is not None else None
        table.append((name, work / t, work / tc if tc else None, unit))

    for dt, npdt in (("f32", np.float32), ("f16", np.float16)):
        if dt not in {d.name for d in c.compute_dtypes}:
            print(f"matmul {dt}: skipped ({dt} not offered by this adapter)")
            continue
        _matmul(c, cp, bench, rng, mm, dt, npdt)
    _flat(c, cp, bench, n_flat)
    _rows(c, cp, bench, rows)
    print(f"{'benchmark':<24}{'wgpu':>14}{'CuPy':>18}{'ratio':>8}")
    for name, v, vc, unit in table:
        peer = f"{vc:10.3f} {unit:<7}" if vc else f"{'n/a':>10} {'':<7}"
        ratio = f"{v / vc:8.2f}" if vc else f"{'n/a':>8}"
        print(f"{name:<24}{v:10.3f} {unit:<7}{peer}{ratio}")

    small = c.from_numpy(np.ones(256, np.float32))
    out = c.add(small, 1.0)
    n = 500

    def adds() -> None:
        for _ in range(n):
            c.add(small, 1.0)

    def hooks() -> None:
        for _ in range(n):
            c._k_binary("add", small, 1.0, out)

    adds()
    rec, sub = _best(c, adds, n)
    hrec, _ = _best(c, hooks, n)
    drec, dsub = _decode_cost(c, 2, 340) if args.small else _decode_cost(c, 4, 1000)
    print("CPU-side cost of one dispatch (us; record = API call to recorded dispatch, submit = its share of ending")
    print("the compute pass and submitting it, GPU not waited for):")
    print(f"  tiny add [256]: record {rec:.1f} + submit {sub:.1f} = {rec + sub:.1f}; the hook alone (launch plan "
          f"replay) {hrec:.1f}")  # fmt: skip
    print(f"  decode-like sequence (17 ops per layer, SmolLM2-135M sizes): record {drec:.1f} + submit {dsub:.1f} = "
          f"{drec + dsub:.1f} per op")  # fmt: skip
    if cp is not None:
        cs = cp.ones(256, cp.float32)
        cs + 1.0
        cp.cuda.Device().synchronize()
        t = time.perf_counter()
        for _ in range(n):
            cs + 1.0
        print(f"CuPy elementwise launch: {(time.perf_counter() - t) / n * 1e6:.1f} us")
    print(f"engine: {c.engine.stats}")
    print(f"total bench time {time.perf_counter() - t_start:.1f} s")


if __name__ == "__main__":
    main()
