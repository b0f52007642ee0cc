"""CPU quantization benchmark: dequantize GB/s per format vs gguf-py, GEMV weight-GB/s vs memcpy.

Run: ``python benchmarks/bench_quant_cpu.py [--quick]``. Prints the machine, numpy copy
bandwidth, per-format dequantize throughput (bytes of blocks read per second) for boostr and
gguf-py's numpy ``gguf.quants.dequantize`` with their ratio (target >= 20x), and M=1 GEMV
(``quant_matmul``) for Q4_0, Q4_1, Q8_0, Q4_K, Q6_K at 4096x4096 and 1536x576 in weight
bytes per second next to the copy bandwidth (target >= 60%).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
from gguf import GGMLQuantizationType as GgmlType
from gguf import quants as gq

_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path[:0] = [_ROOT, os.path.join(_ROOT, "tests", "conformance")]

from test_quant_data import random_blocks  # noqa: E402

import boostr  # noqa: E402
from boostr.quant import FORMATS, QuantTensor  # noqa: E402


def best_of(fn, reps: int) -> float:  # type: ignore[no-untyped-def]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller tensors, fewer repetitions")
    args = ap.parse_args()
    reps = 3 if args.quick else 7
    cpu = boostr.get_client("cpu")
    info = cpu.info()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"numba threads {info['threads']}, numpy {np.__version__}, python {platform.python_version()}"
    )
    bw = copy_bandwidth()
    print(f"numpy copy bandwidth: {bw:.2f} GB/s (bytes read per second)\n")

    rows, k = (256, 4096) if args.quick else (1024, 4096)
    print(f"dequantize [{rows} x {k}] -> f32   (GB/s of blocks read)")
    print(f"{'format':8s} {'boostr':>9s} {'gguf-py':>9s} {'ratio':>7s}")
    for name in FORMATS:
        raw = random_blocks(name, rows, k)
        qt = QuantTensor.from_raw(raw, name, (rows, k), backend=cpu)
        tb = best_of(lambda qt=qt: cpu.dequantize(qt), reps)
        if name in ("Q8_1", "Q8_K", "Q1_0"):
            print(f"{name:8s} {raw.nbytes / tb / 1e9:9.2f} {'-':>9s} {'-':>7s}")
            continue
        with np.errstate(all="ignore"):
            tg = best_of(lambda raw=raw, name=name: gq.dequantize(raw, GgmlType[name]), 1 if args.quick else 2)
        print(f"{name:8s} {raw.nbytes / tb / 1e9:9.2f} {raw.nbytes / tg / 1e9:9.2f} {tg / tb:6.1f}x")

    print("\nGEMV M=1 (quant_matmul), weight GB/s and fraction of the copy bandwidth")
    rng = np.random.default_rng(0)
    for n, kk in ((4096, 4096), (1536, 576)):
        x = cpu.from_numpy(rng.standard_normal((1, kk)).astype(np.float32))
        for name in ("Q4_0", "Q4_1", "Q8_0", "Q4_K", "Q6_K"):
            kq = kk if kk % FORMATS[name].block_elems == 0 else None
            if kq is None:
                print(f"{name:6s} {n}x{kk}: K not a multiple of {FORMATS[name].block_elems}, skipped")
                continue
            qt = cpu.quantize(cpu.from_numpy(rng.standard_normal((n, kk)).astype(np.float32)), name)
            t = best_of(lambda qt=qt, x=x: cpu.quant_matmul(x, qt), reps * 3)
            gbs = qt.nbytes / t / 1e9
            print(f"{name:6s} {n}x{kk}: {t * 1e3:8.3f} ms  {gbs:6.2f} GB/s  {100 * gbs / bw:5.1f}% of copy")


if __name__ == "__main__":
    main()
