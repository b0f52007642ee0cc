"""CPU quantization benchmark: boostr vs gguf-py (dequantize), vs the copy bandwidth and torch (GEMV).

Run: ``python benchmarks/bench_quant_cpu.py [--quick] [--threads 1,2]``. One run prints:

- the machine, the load average before and after, numpy's copy bandwidth (bytes read per second
  of a 256 MiB ``np.copyto``; the same number of bytes is written);
- dequantize ``[1024 x 4096] -> f32`` per format: GB/s of blocks read by boostr at each thread
  count and by gguf-py's numpy ``gguf.quants.dequantize``, the ratio (target >= 20x), and the f32
  GB/s boostr writes (dequantizing is bound by those stores);
- GEMV (M = 1, ``quant_matmul``) for Q4_0, Q4_1, Q8_0, Q4_K, Q6_K at 4096 x 4096 and 1536 x 576 and
  for Q4_1 / Q8_0 at the default model's shapes (SmolLM2-135M: 576 x 576, 192 x 576, 1536 x 576,
  576 x 1536, 49152 x 576): weight GB/s and % of the copy bandwidth (target >= 60%), per thread
  count, next to the time of torch's f32 GEMV of the same shape when torch is installed (its f32
  weights are 4-8x the bytes);
- small M (2..16) reusing each decoded row, quant_swiglu fused vs composed, and a prefill
  (M = 128, dequantized tiles + BLAS) vs torch f32 matmul.
Timings are the best of several repetitions (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from typing import Any

import numpy as np
from gguf import GGMLQuantizationType as GgmlType
from gguf import quants as gq

_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path[:0] = [_ROOT, os.path.join(_ROOT, "tests", "conformance")]

from test_quant_data import random_blocks  # noqa: E402

import boostr  # noqa: E402
from boostr.quant import FORMATS, QuantTensor  # noqa: E402

GEMV_FORMATS = ("Q4_0", "Q4_1", "Q8_0", "Q4_K", "Q6_K")
MODEL_SHAPES = ((576, 576), (192, 576), (1536, 576), (576, 1536), (49152, 576))

try:
    import torch
except ImportError:  # torch is an optional peer
    torch = None


def best_of(fn: Any, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def copy_bandwidth(nbytes: int = 1 << 28) -> float:
    """Read GB/s of a numpy copy of a large array (bytes read per second)."""
    src = np.ones(nbytes // 4, np.float32)
    dst = np.empty_like(src)
    return src.nbytes / best_of(lambda: np.copyto(dst, src), 5) / 1e9


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def set_threads(n: int) -> None:
    import numba

    numba.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)


def bench_dequant(cpu: Any, threads: list[int], rows: int, k: int, reps: int) -> None:
    ths = " ".join(f"{f'boostr {t}T':>10s}" for t in threads)
    print(f"dequantize [{rows} x {k}] -> f32   (GB/s of blocks read; f32 out GB/s = blocks x out/in)")
    print(f"{'format':8s} {ths} {'gguf-py':>9s} {'ratio':>7s} {'f32 out':>8s}")
    for name, fmt in FORMATS.items():
        raw = random_blocks(name, rows, k)
        qt = QuantTensor.from_raw(raw, name, (rows, k), backend=cpu)
        gbs = []
        for t in threads:
            set_threads(t)
            gbs.append(raw.nbytes / best_of(lambda qt=qt: cpu.dequantize(qt), reps) / 1e9)
        cols = " ".join(f"{g:10.2f}" for g in gbs)
        out = gbs[-1] * fmt.block_elems * 4 / fmt.block_bytes
        if name in ("Q8_1", "Q8_K", "Q1_0"):  # gguf-py 0.19 does not dequantize these
            print(f"{name:8s} {cols} {'-':>9s} {'-':>7s} {out:8.1f}")
            continue
        with np.errstate(all="ignore"):
            tg = best_of(lambda raw=raw, name=name: gq.dequantize(raw, GgmlType[name]), 2)
        g = raw.nbytes / tg / 1e9
        print(f"{name:8s} {cols} {g:9.3f} {gbs[-1] / g:6.1f}x {out:8.1f}")


def _torch_gemv(n: int, k: int, m: int, reps: int) -> float | None:
    if torch is None:
        return None
    w = torch.randn(n, k)
    x = torch.randn(m, k)
    return best_of(lambda: x @ w.T, reps)


def bench_gemv(cpu: Any, threads: list[int], bw: float, shapes: Any, reps: int) -> None:
    rng = np.random.default_rng(0)
    peer = f" {'torch ms':>8s}" if torch is not None else ""
    head = " |".join(f"{f'{t}T ms':>8s} {'GB/s':>6s} {'%copy':>6s}{peer}" for t in threads)
    print(f"{'format':6s} {'N x K':>11s} {'MB':>6s} |{head}")
    for name, n, k in shapes:
        if k % FORMATS[name].block_elems:
            continue
        qt = QuantTensor.from_raw(random_blocks(name, n, k), name, (n, k), backend=cpu)
        x = cpu.from_numpy(rng.standard_normal((1, k)).astype(np.float32))
        cols = []
        for t in threads:
            set_threads(t)
            tb = best_of(lambda qt=qt, x=x: cpu.quant_matmul(x, qt), reps)
            g = qt.nbytes / tb / 1e9
            col = f"{tb * 1e3:8.3f} {g:6.2f} {100 * g / bw:5.0f}%"
            tt = _torch_gemv(n, k, 1, reps)
            cols.append(col + (f" {tt * 1e3:8.3f}" if tt is not None else ""))
        print(f"{name:6s} {f'{n}x{k}':>11s} {qt.nbytes / 1e6:6.2f} |" + " |".join(cols))


def bench_rest(cpu: Any, threads: list[int], reps: int) -> None:
    rng = np.random.default_rng(1)
    n = k = 4096
    qt = QuantTensor.from_raw(random_blocks("Q4_1", n, k), "Q4_1", (n, k), backend=cpu)
    set_threads(threads[-1])
    print(f"\nsmall M, Q4_1 {n}x{k}, {threads[-1]} threads (weights decoded in registers once per 4 rows of x)")
    base = 0.0
    for m in (1, 2, 4, 8, 16):
        x = cpu.from_numpy(rng.standard_normal((m, k)).astype(np.float32))
        t = best_of(lambda x=x: cpu.quant_matmul(x, qt), reps)
        base = base or t
        tt = _torch_gemv(n, k, m, reps)
        peer = f"   torch f32 {tt * 1e3:7.3f} ms" if tt is not None else ""
        print(f"  M={m:2d}: {t * 1e3:7.3f} ms  ({t / base:4.2f}x the M=1 time){peer}")

    print(f"\nquant_swiglu (gate and up in one pass) vs silu(x Wg^T) * (x Wu^T), M=1, {threads[-1]} threads")
    for name, f, d in (("Q4_1", 1536, 576), ("Q4_K", 4096, 4096)):
        g = QuantTensor.from_raw(random_blocks(name, f, d, seed=1), name, (f, d), backend=cpu)
        u = QuantTensor.from_raw(random_blocks(name, f, d, seed=2), name, (f, d), backend=cpu)
        x = cpu.from_numpy(rng.standard_normal((1, d)).astype(np.float32))
        tf = best_of(lambda g=g, u=u, x=x: cpu.quant_swiglu(x, g, u), reps)
        tc = best_of(lambda g=g, u=u, x=x: cpu.mul(cpu.silu(cpu.quant_matmul(x, g)), cpu.quant_matmul(x, u)), reps)
        print(f"  {name} {f}x{d}: fused {tf * 1e3:7.3f} ms, composed {tc * 1e3:7.3f} ms ({tc / tf:4.2f}x)")

    m = 128
    x = cpu.from_numpy(rng.standard_normal((m, k)).astype(np.float32))
    t = best_of(lambda: cpu.quant_matmul(x, qt), max(3, reps // 4))
    flops = 2 * m * n * k
    tt = _torch_gemv(n, k, m, max(3, reps // 4))
    peer = f", torch f32 matmul {tt * 1e3:.2f} ms ({flops / tt / 1e9:.0f} GFLOP/s)" if tt is not None else ""
    print(f"\nprefill M={m}, Q4_1 {n}x{k} (tiles dequantized once + BLAS): {t * 1e3:.2f} ms "
          f"({flops / t / 1e9:.0f} GFLOP/s){peer}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller tensors, fewer repetitions")
    ap.add_argument("--threads", default="1,2", help="numba thread counts to measure (comma separated)")
    ap.add_argument("--only", default="dequant,gemv,rest", help="sections to run: dequant, gemv, rest")
    args = ap.parse_args()
    only = set(args.only.split(","))
    reps = 5 if args.quick else 20
    threads = [int(t) for t in args.threads.split(",")]
    cpu = boostr.get_client("cpu")
    load0 = os.getloadavg()
    import numba

    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cpus, numba {numba.__version__} (threading layer "
        f"{numba.config.THREADING_LAYER}), numpy {np.__version__}, python {platform.python_version()}"
        + (f", torch {torch.__version__}" if torch is not None else ", torch not installed")
    )
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    bw = copy_bandwidth()
    print(f"numpy copy bandwidth: {bw:.2f} GB/s (bytes read per second; as many written)\n")

    rows, k = (256, 4096) if args.quick else (1024, 4096)
    if "dequant" in only:
        bench_dequant(cpu, threads, rows, k, reps)
    if "gemv" in only:
        print("\nGEMV M=1 (quant_matmul): weight GB/s and % of the copy bandwidth")
        shapes = [(f, n, k) for n, k in ((4096, 4096), (1536, 576)) for f in GEMV_FORMATS]
        shapes += [(f, n, k) for f in ("Q4_1", "Q8_0") for n, k in MODEL_SHAPES]
        bench_gemv(cpu, threads, bw, shapes, reps * 3)
    if "rest" in only:
        bench_rest(cpu, threads, reps)
    bw2 = copy_bandwidth()
    load1 = os.getloadavg()
    print(f"\nnumpy copy bandwidth at the end: {bw2:.2f} GB/s; load average at end: {load1[0]:.2f} {load1[1]:.2f}")


if __name__ == "__main__":
    main()
