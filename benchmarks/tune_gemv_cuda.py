#!/usr/bin/env python3
"""Tune the CUDA fast quantized GEMV launch shape per (format, N x K class) and print ``GEMV_TUNED`` entries.

For each format (default Q4_0, Q8_0, Q4_K, Q6_K) and shape (28672x8192, 4096x4096, 6144x4096 fused QKV,
14336x4096 gate/up, 4096x14336 down), every candidate ``GemvConfig`` (warps a CTA x rows a warp R x
units in flight PF x K splits, x chunk = default) is timed by CUDA-graph replay (``bench_quant_cuda``'s
``graph_time``: GPU time, no host launch cost) and its output compared with the default configuration's
(max abs diff printed; it must be tiny: the same f32 sums, reassociated only by the K split). Prints a
table per (format, shape) and the best configuration of each as a Python literal to paste into
``GEMV_TUNED`` in boostr/ops/cuda/quant.py.

Usage: ``python benchmarks/tune_gemv_cuda.py [--formats Q4_0,Q4_K] [--m 1] [--iters 20] [--quick]``;
needs a GPU (< 3 minutes on an H100, kernel compiles included).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quant_cuda import copy_bandwidth, device_weights, graph_time

import boostr
from boostr.ops.cuda import quant as cq

SHAPES = [(28672, 8192), (4096, 4096), (6144, 4096), (14336, 4096), (4096, 14336)]
FORMATS = ["Q4_0", "Q8_0", "Q4_K", "Q6_K"]


def candidates(name: str, mb: int, quick: bool) -> list[cq.GemvConfig]:
    """Every launch shape tried for ``name`` at ``mb`` rows of x (the default first)."""
    rs = [r for r in cq.GEMV_R[mb] if r <= cq.GEMV_FAST[name]]
    warps = (4, 8) if quick else (2, 4, 8)
    out = [cq.GemvConfig()]
    for w, r, pf, s in itertools.product(warps, rs, cq.GEMV_PF, (1, 2, 4)):
        out.append(cq.GemvConfig(w, r, pf, 0, s))
    return out


def run_config(client, name: str, qt, x, n: int, k: int, mb: int, cfg: cq.GemvConfig):  # type: ignore[no-untyped-def]
    """One fast GEMV launch of ``x @ W^T`` with launch shape ``cfg`` (resolved): a fresh output tensor."""
    out = client._new((x.shape[0], n), boostr.f32)
    client._gemv_fast("gemv", name, out, x, [qt.data], n, k, mb, cfg)
    return out


def tune_shape(client, cp, copy: float, name: str, n: int, k: int, mb: int, args) -> str:  # type: ignore[no-untyped-def]
    """Time every candidate of ``name`` at ``n`` x ``k``, print the table, return the best as a table line."""
    qt = device_weights(client, cp, name, n, k)
    x = client.from_numpy(np.random.default_rng(n + k).standard_normal((mb, k)).astype(np.float32))
    rows: list[tuple[cq.GemvConfig, float, float]] = []
    ref = None
    for cand in candidates(name, mb, args.quick):
        cfg = cq._resolve(name, n, k, mb, client.sm_count, cand)
        if any(c == cfg for c, _, _ in rows):
            continue  # clamped onto a configuration already timed
        got = run_config(client, name, qt, x, n, k, mb, cfg).numpy()
        ref = got if ref is None else ref
        diff = float(np.max(np.abs(got - ref))) / max(float(np.max(np.abs(ref))), 1e-30)
        t = graph_time(cp, lambda cfg=cfg: run_config(client, name, qt, x, n, k, mb, cfg), args.iters)
        rows.append((cfg, t, diff))
    print(f"\n{name} M={mb} N x K = {n} x {k} ({qt.nbytes / 1e6:.1f} MB)")
    head = ("warps", "R", "PF", "KC", "split", "GPU us", "TB/s", "vs copy", "rel diff")
    print("{:>5} {:>2} {:>2} {:>6} {:>5} {:>8} {:>6} {:>7} {:>9}".format(*head))
    for cfg, t, diff in sorted(rows, key=lambda row: row[1]):
        bw = qt.nbytes / t
        print(f"{cfg.warps:5} {cfg.r:2} {cfg.pf:2} {cfg.kc:6} {cfg.split:5} {t * 1e6:8.2f} {bw / 1e12:6.3f} "
              f"{bw / copy:7.1%} {diff:9.1e}")  # fmt: skip
    worst = max(diff for _, _, diff in rows)
    if worst > 1e-5:
        print(f"WARNING: a configuration differs from the default by {worst:.1e} (relative to max |out|)")
    cfg, t, _ = min(rows, key=lambda row: row[1])
    kc = 0 if cfg.kc == cq.gemv_chunk(k, mb) else cfg.kc
    line = (
        f'    ("{name}", {mb}, {n}, {k}): ({cfg.warps}, {cfg.r}, {cfg.pf}, {kc}, {cfg.split}),'
        f"  # {t * 1e6:.2f} us, {qt.nbytes / t / copy:.0%} of copy (default {rows[0][1] * 1e6:.2f} us)"
    )
    return line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--m", type=int, default=1, choices=(1, 2, 4, 8), help="rows of x (the table's MB)")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="fewer warp counts (4, 8)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    client = boostr.get_client("cuda")
    cp = client.cp
    info = client.info()
    print(f"device: {info['name']} (cc {info['compute_capability']}, {info['multiprocessors']} SMs)")
    copy = copy_bandwidth(cp, args.iters)
    print(f"CuPy device copy: {copy / 1e12:.3f} TB/s (read + write)")
    lines = []
    for name in args.formats.split(","):
        if name not in cq.GEMV_FAST:
            print(f"\n{name}: no fast GEMV kernel, skipped")
            continue
        for n, k in SHAPES:
            lines.append(tune_shape(client, cp, copy, name, n, k, args.m, args))
            cp.get_default_memory_pool().free_all_blocks()
    print("\n# paste into GEMV_TUNED (boostr/ops/cuda/quant.py): (format, MB, N, K): (warps, r, pf, kc, split)")
    print("\n".join(lines))
    print(f"\n(total {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
