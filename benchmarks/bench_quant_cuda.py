#!/usr/bin/env python3
"""CUDA quantized matmul: GEMV (decode) weight bandwidth and M=512 prefill, peers in the same run.

- GEMV (M = 1) for Q4_0, Q8_0, Q4_K, Q6_K at N x K = 28672 x 8192: weight GB/s of
  ``client.quant_matmul`` against the device-copy bandwidth CuPy measures in this run
  (``dst[...] = src`` over 1 GiB, read + write bytes); issue 6 targets >= 80% of the copy.
- Prefill (M = 512, f16 activations): ``quant_matmul`` against dequantize-to-f16 + cuBLAS f16
  (CuPy matmul on the whole dequantized weight), and against that cuBLAS GEMM alone.

Weights are made on the device: random bytes whose f16 scale fields hold small finite values.
Usage: ``python benchmarks/bench_quant_cuda.py [--n 28672 --k 8192 --iters 20]``; needs a GPU.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

import boostr
from boostr.quant import FORMATS, QuantTensor

SCALES = {"Q4_0": (0,), "Q8_0": (0,), "Q4_K": (0, 2), "Q6_K": (208,)}


def device_weights(client, cp, name: str, n: int, k: int) -> QuantTensor:  # type: ignore[no-untyped-def]
    fmt = FORMATS[name]
    nblk = n * k // fmt.block_elems
    raw = cp.random.randint(0, 256, size=(nblk, fmt.block_bytes), dtype=cp.uint8)
    for off in SCALES[name]:
        sc = (cp.random.standard_normal(nblk, dtype=cp.float32) * 0.01).astype(cp.float16)
        raw[:, off : off + 2] = sc.view(cp.uint8).reshape(nblk, 2)
    return QuantTensor.from_raw(client.from_dlpack(raw.reshape(-1)), name, (n, k), backend=client)


def timeit(cp, fn: Callable[[], object], iters: int, warmup: int = 3) -> float:  # type: ignore[no-untyped-def]
    """Median seconds of ``fn`` over ``iters`` runs (CUDA events around each)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        a, b = cp.cuda.Event(), cp.cuda.Event()
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(cp.cuda.get_elapsed_time(a, b) / 1e3)
    times.sort()
    return times[len(times) // 2]


def copy_bandwidth(cp, iters: int) -> float:  # type: ignore[no-untyped-def]
    src = cp.ones(1 << 28, dtype=cp.float32)  # 1 GiB
    dst = cp.empty_like(src)

    def run() -> None:
        dst[...] = src

    t = timeit(cp, run, iters)
    return 2 * src.nbytes / t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=28672)
    ap.add_argument("--k", type=int, default=8192)
    ap.add_argument("--m", type=int, default=512)
    ap.add_argument("--iters", type=int, default=20)
    args = ap.parse_args()
    t0 = time.perf_counter()
    client = boostr.get_client("cuda")
    cp = client.cp
    info = client.info()
    print(f"device: {info['name']} (cc {info['compute_capability']}, CuPy {info['cupy']})")
    copy = copy_bandwidth(cp, args.iters)
    print(f"CuPy device copy: {copy / 1e12:.3f} TB/s (read + write)")
    n, k = args.n, args.k
    rng = np.random.default_rng(0)
    x1 = client.from_numpy(rng.standard_normal((1, k)).astype(np.float32))
    xp = client.from_numpy(rng.standard_normal((args.m, k)).astype(np.float32)).to(boostr.f16)
    xv = client._cp_view(xp)
    print(f"\nGEMV M=1, N x K = {n} x {k}")
    print(f"{'format':8} {'us':>9} {'weight TB/s':>12} {'vs copy':>8}")
    prefill = []
    for name in SCALES:
        qt = device_weights(client, cp, name, n, k)
        t = timeit(cp, lambda qt=qt: client.quant_matmul(x1, qt), args.iters)
        bw = qt.nbytes / t
        print(f"{name:8} {t * 1e6:9.1f} {bw / 1e12:12.3f} {bw / copy:8.1%}")
        t_q = timeit(cp, lambda qt=qt: client.quant_matmul(xp, qt), max(3, args.iters // 4))

        def deq_gemm(qt: QuantTensor = qt) -> object:
            w = client._cp_view(client.dequantize(qt, boostr.f16))
            return cp.matmul(xv, w.T)

        t_dg = timeit(cp, deq_gemm, max(3, args.iters // 4))
        wf = client._cp_view(client.dequantize(qt, boostr.f16))
        t_g = timeit(cp, lambda wf=wf: cp.matmul(xv, wf.T), max(3, args.iters // 4))
        prefill.append((name, t_q, t_dg, t_g))
        del qt, wf
        cp.get_default_memory_pool().free_all_blocks()
    flops = 2.0 * args.m * n * k
    print(f"\nprefill M={args.m} f16 activations, N x K = {n} x {k}")
    print(f"{'format':8} {'boostr ms':>10} {'TFLOP/s':>8} {'deq+cuBLAS ms':>14} {'ratio':>6} {'cuBLAS only ms':>15}")
    for name, t_q, t_dg, t_g in prefill:
        print(f"{name:8} {t_q * 1e3:10.3f} {flops / t_q / 1e12:8.1f} {t_dg * 1e3:14.3f} {t_dg / t_q:6.2f} "
              f"{t_g * 1e3:15.3f}")  # fmt: skip
    print(f"\n(ratio > 1: boostr faster than dequantize + cuBLAS f16; total {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
