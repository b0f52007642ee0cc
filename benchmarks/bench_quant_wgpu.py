"""WebGPU quantized GEMV: weight-GB/s of boostr's fused kernels, with CuPy's copy bandwidth as the
reference when CuPy + CUDA are available (same run).

    python benchmarks/bench_quant_wgpu.py            # 28672x8192 and 4096x4096 (GPU machine)
    python benchmarks/bench_quant_wgpu.py --small    # software adapter sizes (lavapipe)

Rows: quant_matmul with x [1, K] f32 and W [N, K] in Q4_0, Q8_0, Q4_K, Q6_K (the GEMV path),
one prefill row (M = 512, the tiled path) in TFLOP/s. Weight GB/s = raw block bytes / time.
Two times per row: ``wall``, calls recorded back to back and synced once (includes boostr's
per-call Python cost, which bounds small shapes), and ``gpu``, the op's recorded dispatches
replayed REPS times inside one timestamped compute pass (the kernel alone; needs the adapter's
``timestamp-query``).
The weights are generated on the device: random u32 words whose two halves are below 0x3c00,
so every f16 scale field, wherever a block puts it, is a finite value in [0, 1); the timing of
a GEMV does not depend on the values.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import Any

from _common import cupy_or_none as _cupy
from _common import wall_time as _time

import boostr
from boostr.quant import FORMATS, QuantTensor

FORMAT_ROWS = ("Q4_0", "Q8_0", "Q4_K", "Q6_K")


def device_weights(c: Any, fmt: str, n: int, k: int) -> QuantTensor:
    """A ``[n, k]`` QuantTensor of ``fmt`` made on the device (no host data)."""
    f = FORMATS[fmt]
    nbytes = n * f.row_bytes(k)
    words = (nbytes + 3) // 4
    lo = c.randint(0, 0x3C00, (words,), dtype="u32")
    hi = c.randint(0, 0x3C00, (words,), dtype="u32")
    data = c.add(lo, c.mul(hi, c.full((1,), 65536, dtype="u32")))
    return QuantTensor(data, fmt, (n, k))


def gpu_time(c: Any, fn: Callable[[], Any], reps: int) -> float | None:
    """Seconds per call of the dispatches ``fn`` records, from GPU timestamps (None if unavailable:
    this replays the engine's recorded launches, whose internals may change)."""
    if "timestamp-query" not in c.features or not hasattr(c, "_capture"):
        return None
    try:
        return _gpu_time(c, fn, reps)
    except Exception as exc:  # an engine without the capture / bind-group API used here
        print(f"  (gpu timing unavailable: {type(exc).__name__}: {exc})")
        return None


def _gpu_time(c: Any, fn: Callable[[], Any], reps: int) -> float | None:
    import wgpu

    cap: list[Any] = []
    tid = threading.get_ident()
    if isinstance(c._capture, dict):  # thread id -> launches captured for a launch plan
        c._capture[tid] = cap
        try:
            fn()
        finally:
            c._capture.pop(tid, None)
    else:
        c._capture = cap
        try:
            fn()
        finally:
            c._capture = None
    if not cap:
        return None
    eng = c.engine
    groups = eng.bind_groups if hasattr(eng, "bind_groups") else lambda k, b: [eng.bind_group(k, b)]
    steps = [(k, groups(k, bufs), eng.param_offset(params), g) for k, bufs, params, g in cap]
    eng.flush()  # uploads the parameter blocks
    qs = c.device.create_query_set(type=wgpu.QueryType.timestamp, count=2)
    res = c.device.create_buffer(size=16, usage=wgpu.BufferUsage.QUERY_RESOLVE | wgpu.BufferUsage.COPY_SRC)
    rd = c.device.create_buffer(size=16, usage=wgpu.BufferUsage.MAP_READ | wgpu.BufferUsage.COPY_DST)
    enc = c.device.create_command_encoder()
    p = enc.begin_compute_pass(
        timestamp_writes={"query_set": qs, "beginning_of_pass_write_index": 0, "end_of_pass_write_index": 1}
    )
    for _ in range(reps):
        for k, bgs, poff, g in steps:
            p.set_pipeline(k.pipeline)
            p.set_bind_group(0, eng.params_bg, [poff])
            for i, bg in enumerate(bgs):
                p.set_bind_group(1 + i, bg)
            p.dispatch_workgroups(*g)
    p.end()
    enc.resolve_query_set(qs, 0, 2, res, 0)
    enc.copy_buffer_to_buffer(res, 0, rd, 0, 16)
    c.device.queue.submit([enc.finish()])
    rd.map_sync(wgpu.MapMode.READ)
    t0, t1 = memoryview(rd.read_mapped()).cast("Q")
    rd.unmap()
    return (t1 - t0) * 1e-9 / reps


def cupy_copy_gbs(cp: Any, nbytes: int, reps: int) -> float:
    a = cp.empty(nbytes // 4, dtype=cp.float32)
    b = cp.empty_like(a)
    t = _time(lambda: cp.copyto(b, a), cp.cuda.Device().synchronize, reps)
    return 2 * nbytes / t / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--small", action="store_true", help="sizes for a software adapter")
    ap.add_argument("--reps", type=int, default=0)
    args = ap.parse_args()
    shapes = [(1024, 1024), (2048, 512)] if args.small else [(28672, 8192), (4096, 4096)]
    prefill = (64, 512, 512) if args.small else (512, 4096, 4096)
    reps = args.reps or (3 if args.small else 20)
    c = boostr.get_client("wgpu")
    info = c.info()
    print(f"adapter: {info['adapter']} ({info['backend']}, {info['adapter_type']}), features {info['features']}")
    print(f"max storage binding {c.max_binding / 2**20:.0f} MiB; subgroups: {c.has_subgroups}")
    cp = _cupy()
    if cp is not None:
        name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        gbs = cupy_copy_gbs(cp, 1 << 30, reps)
        print(f"peer: CuPy {cp.__version__} on {name}: device copy {gbs:.0f} GB/s (read + write, 1 GiB)")
    print(f"{'op':<34}{'wall us':>10}{'GB/s':>9}{'gpu us':>10}{'GB/s':>9}   (weight bytes / time)")
    for n, k in shapes:
        x = c.randn(1, k)
        for fmt in FORMAT_ROWS:
            w = device_weights(c, fmt, n, k)
            c.sync()
            t = _time(lambda w=w, x=x: c.quant_matmul(x, w), c.sync, reps)
            g = gpu_time(c, lambda w=w, x=x: c.quant_matmul(x, w), reps)
            gcol = f"{g * 1e6:>10.1f}{w.nbytes / g / 1e9:>9.1f}" if g else f"{'-':>10}{'-':>9}"
            print(f"{'GEMV ' + fmt + f' {n}x{k}':<34}{t * 1e6:>10.1f}{w.nbytes / t / 1e9:>9.1f}{gcol}")
            del w
    m, n, k = prefill
    x = c.randn(m, k)
    print(f"{'op':<34}{'wall us':>10}{'TFLOP/s':>9}{'gpu us':>10}{'TFLOP/s':>9}")
    flop = 2 * m * n * k
    for fmt in ("Q4_0", "Q4_K"):
        w = device_weights(c, fmt, n, k)
        t = _time(lambda w=w, x=x: c.quant_matmul(x, w), c.sync, max(1, reps // 4))
        g = gpu_time(c, lambda w=w, x=x: c.quant_matmul(x, w), max(1, reps // 4))
        gcol = f"{g * 1e6:>10.1f}{flop / g / 1e12:>9.3f}" if g else f"{'-':>10}{'-':>9}"
        print(f"{'prefill ' + fmt + f' M={m} {n}x{k}':<34}{t * 1e6:>10.1f}{flop / t / 1e12:>9.3f}{gcol}")


if __name__ == "__main__":
    main()
