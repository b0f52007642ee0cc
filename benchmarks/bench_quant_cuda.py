#!/usr/bin/env python3
"""CUDA quantized matmul: GEMV (decode) weight bandwidth and M=512 prefill, peers in the same run.

- GEMV (M = 1) for Q4_0, Q8_0, Q4_K, Q6_K (the issue 6 targets: >= 80% of the copy) and the other
  formats with a fast GEMV kernel (plus IQ2_XS, which runs the generic one) at N x K = 28672 x 8192,
  then the same at 4096 x 4096, and M = 8 for the targets: weight TB/s of ``client.quant_matmul``
  against the device-copy bandwidth CuPy measures in this run (``dst[...] = src`` over 1 GiB,
  read + write bytes). GPU time: the call captured once in a CUDA graph and replayed back to back
  (how decode runs it); "eager call us" is one Python call between two events (host launch cost
  included: the GPU idles while the front end runs).
- Fused SwiGLU (M = 1, Q4_K gate + up at 14336 x 4096, the Llama-3-8B FFN): ``client.quant_swiglu``
  (one kernel) against two ``quant_matmul`` GEMVs and against the trait's composite (two GEMVs + silu
  + mul); weight TB/s counts both matrices.
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
"""The target formats (GEMV and prefill) -> byte offsets of their f16 scale fields."""
MORE = {
    "Q4_1": (0, 2), "Q5_0": (0,), "Q5_1": (0, 2), "Q2_K": (80, 82), "Q3_K": (108,), "Q5_K": (0, 2),
    "IQ4_NL": (0,), "IQ4_XS": (0,), "MXFP4": (), "IQ2_XS": (0,),
}  # fmt: skip
"""More GEMV formats (fast kernels, and IQ2_XS on the generic one) -> f16 scale offsets."""


def device_weights(client, cp, name: str, n: int, k: int) -> QuantTensor:  # type: ignore[no-untyped-def]
    fmt = FORMATS[name]
    nblk = n * k // fmt.block_elems
    raw = cp.random.randint(0, 256, size=(nblk, fmt.block_bytes), dtype=cp.uint8)
    if name == "MXFP4":  # E8M0 scale byte: 2^(e - 127), keep it near 1
        raw[:, 0] = 127
    for off in {**SCALES, **MORE}[name]:
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


def graph_time(cp, fn: Callable[[], object], iters: int) -> float:  # type: ignore[no-untyped-def]
    """GPU seconds of one ``fn`` call: the call captured once in a CUDA graph, replayed ``iters``
    times back to back between two events (no host launch cost), median of 3 batches."""
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        fn()
        s.synchronize()
        s.begin_capture()
        keep = fn()  # the outputs stay alive with the graph
        g = s.end_capture()
        times = []
        for _ in range(3):
            a, b = cp.cuda.Event(), cp.cuda.Event()
            a.record(s)
            for _ in range(iters):
                g.launch(s)
            b.record(s)
            b.synchronize()
            times.append(cp.cuda.get_elapsed_time(a, b) / 1e3 / iters)
    del keep
    times.sort()
    return times[1]


def copy_bandwidth(cp, iters: int) -> float:  # type: ignore[no-untyped-def]
    src = cp.ones(1 << 28, dtype=cp.float32)  # 1 GiB
    dst = cp.empty_like(src)

    def run() -> None:
        dst[...] = src

    t = timeit(cp, run, iters)
    return 2 * src.nbytes / t


def gemv_table(client, cp, copy: float, rng, m: int, n: int, k: int, names: list[str], iters: int) -> None:  # type: ignore[no-untyped-def]
    """Print GEMV time and weight bandwidth of ``names`` for ``m`` rows of x at ``n`` x ``k``."""
    x = client.from_numpy(rng.standard_normal((m, k)).astype(np.float32))
    print(f"\nGEMV M={m}, N x K = {n} x {k}")
    print(f"{'format':8} {'GPU us':>9} {'weight TB/s':>12} {'vs copy':>8} {'eager call us':>14}")
    for name in names:
        qt = device_weights(client, cp, name, n, k)
        t = graph_time(cp, lambda qt=qt: client.quant_matmul(x, qt), iters)
        t_eager = timeit(cp, lambda qt=qt: client.quant_matmul(x, qt), iters)
        bw = qt.nbytes / t
        print(f"{name:8} {t * 1e6:9.1f} {bw / 1e12:12.3f} {bw / copy:8.1%} {t_eager * 1e6:14.1f}")
        del qt
        cp.get_default_memory_pool().free_all_blocks()


def swiglu_row(client, cp, copy: float, rng, n: int, k: int, iters: int) -> None:  # type: ignore[no-untyped-def]
    """Print the fused quant_swiglu (Q4_K gate + up, M = 1) against two GEMVs and the trait's composite."""
    from boostr.ops.traits.quant import QuantOps

    x = client.from_numpy(rng.standard_normal((1, k)).astype(np.float32))
    w = [device_weights(client, cp, "Q4_K", n, k), device_weights(client, cp, "Q4_K", n, k)]
    nbytes = w[0].nbytes + w[1].nbytes
    runs = {
        "fused quant_swiglu": lambda: client.quant_swiglu(x, w[0], w[1]),
        "two GEMVs": lambda: (client.quant_matmul(x, w[0]), client.quant_matmul(x, w[1])),
        "composite (trait)": lambda: QuantOps.quant_swiglu(client, x, w[0], w[1]),
    }
    print(f"\nquant_swiglu Q4_K M=1, gate + up {n} x {k} ({nbytes / 1e6:.1f} MB)")
    print(f"{'path':20} {'GPU us':>9} {'weight TB/s':>12} {'vs copy':>8}")
    for label, fn in runs.items():
        t = graph_time(cp, fn, iters)
        print(f"{label:20} {t * 1e6:9.1f} {nbytes / t / 1e12:12.3f} {nbytes / t / copy:8.1%}")
    w.clear()
    cp.get_default_memory_pool().free_all_blocks()


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
    xp = client.from_numpy(rng.standard_normal((args.m, k)).astype(np.float32)).to(boostr.f16)
    xv = client._cp_view(xp)
    for m, gn, gk, names in ((1, n, k, [*SCALES, *MORE]), (1, 4096, 4096, [*SCALES, *MORE]), (8, n, k, list(SCALES))):
        gemv_table(client, cp, copy, rng, m, gn, gk, names, args.iters)
    swiglu_row(client, cp, copy, rng, 14336, 4096, args.iters)
    prefill = []
    for name in SCALES:
        qt = device_weights(client, cp, name, n, k)
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
