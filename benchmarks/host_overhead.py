#!/usr/bin/env python3
"""boostr's per-op host overhead: microseconds of Python between the public op and the device.

Tiny tensors (launch-bound), the device is not waited for inside the timed loop (one sync at its
end), as ``bench_cuda.py``'s overhead line. Ops: ``add`` f32 [1024] + f32 [1024], ``add_scalar``
f32 [1024] + 1.0, ``sum`` f32 [1024] (all dims), ``rms_norm`` bf16 [4, 256] without weight.

Backends:

- ``cuda``: the real CUDA client (CuPy on a GPU); bare CuPy add/sum are printed for reference.
- ``cpu`` / ``wgpu``: the other clients (the trait front ends are shared, so their overhead counts).
- ``stub``: a CudaClient driven by a fake CuPy (no GPU needed): allocations are bump-pointer
  objects and ``cuLaunchKernel`` is a Python no-op, so the time left is boostr's own Python path
  from the public op to the launch. ``--record`` checks every launch's entry and arguments.

``python benchmarks/host_overhead.py --backend cuda|cpu|wgpu|stub [--n 3000] [--profile] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

import boostr

# ------------------------------------------------------------------------------------ fake CuPy


class _Ptr:
    __slots__ = ("ptr",)

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr


class StubArray:
    """What the CUDA client reads from a CuPy array: ``data.ptr``, ``dtype``, ``itemsize``, ``size``."""

    __slots__ = ("data", "dtype", "itemsize", "shape", "size")
    _next = 1 << 32

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        dt = np.dtype(dtype)
        n = 1
        for s in shape:
            n *= s
        self.shape = shape
        self.size = n
        self.dtype = dt
        self.itemsize = dt.itemsize
        self.data = _Ptr(StubArray._next)
        StubArray._next += (n * dt.itemsize + 511) // 512 * 512


class _StubFunction:
    __slots__ = ("entry", "ptr", "relpath")

    def __init__(self, relpath: str, entry: str, ptr: int) -> None:
        self.relpath, self.entry, self.ptr = relpath, entry, ptr


class _StubModule:
    """A "compiled" module: the source is rendered (so template errors show) but never compiled."""

    def __init__(self, relpath: str, params: Any, functions: dict[int, _StubFunction]) -> None:
        from boostr.kernels.sources import render

        self.relpath = relpath
        self.src = render(relpath, **dict(params))
        self.functions = functions

    def get_function(self, entry: str) -> Any:
        if "##" not in self.src and f" {entry}(" not in self.src:  # macro-built entries are not checked
            raise KeyError(f"{entry} is not an entry point of {self.relpath}")
        fn = _StubFunction(self.relpath, entry, 0x1000 + len(self.functions))
        self.functions[fn.ptr] = fn
        return SimpleNamespace(kernel=fn)


class StubDriver:
    """``cupy_backends.cuda.api.driver`` with a ``launchKernel`` that records (or only counts)."""

    def __init__(self, functions: dict[int, _StubFunction], record: bool) -> None:
        self.functions = functions
        self.launches: list[dict[str, Any]] = []
        self.count = 0
        if not record:
            self.launchKernel = self._count  # type: ignore[method-assign]

    def _count(self, *args: Any) -> None:
        self.count += 1

    def launchKernel(self, f: int, gx: int, gy: int, gz: int, bx: int, by: int, bz: int, smem: int,  # noqa: N802
                     stream: int, params: int, extra: int) -> None:  # fmt: skip
        import ctypes

        from boostr.runtime.cuda import kernels as kmod

        slots = kmod._SLOTS
        assert slots is not None and params == slots.params
        fn = self.functions[f]
        self.count += 1
        # the first 32 parameter slots as raw int64 (pointers, ints, double bits); the slots are zeroed
        # afterwards, so a slot past this launch's arguments reads 0, never a previous launch's value
        raw = [ctypes.c_int64.from_address(int(slots.ptrs[i])).value for i in range(32)]
        slots.vals[:] = 0
        self.launches.append({"entry": fn.entry, "relpath": fn.relpath, "grid": (gx, gy, gz), "block": (bx, by, bz),
                              "smem": smem, "raw": raw})  # fmt: skip


def fake_cupy(functions: dict[int, _StubFunction]) -> Any:
    """A module-like object with the CuPy attributes CudaClient and its hooks touch on the hot path."""
    stream = SimpleNamespace(ptr=0, synchronize=lambda: None)

    class Device:
        def __init__(self, index: int = 0) -> None:
            self.id = index
            self.compute_capability = "90"

        def __enter__(self) -> Device:
            return self

        def __exit__(self, *exc: Any) -> None:
            return None

    runtime = SimpleNamespace(
        getDeviceCount=lambda: 1,
        getDeviceProperties=lambda i: {"multiProcessorCount": 132, "name": b"stub"},
        runtimeGetVersion=lambda: 12040,
        driverGetVersion=lambda: 12040,
    )
    cuda = SimpleNamespace(
        Device=Device, runtime=runtime, nvrtc=SimpleNamespace(getVersion=lambda: (12, 4)),
        get_current_stream=lambda: stream,
    )  # fmt: skip

    def empty(shape: Any, dtype: Any) -> StubArray:
        return StubArray(tuple(shape) if isinstance(shape, (tuple, list)) else (int(shape),), dtype)

    def asarray(a: Any) -> StubArray:  # uploads: contents are not kept
        return StubArray(tuple(a.shape), a.dtype)

    return SimpleNamespace(ndarray=StubArray, cuda=cuda, __version__="stub", empty=empty, asarray=asarray)


@contextmanager
def _patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def make_stub_cuda_client(record: bool = False) -> tuple[Any, StubDriver, Callable[[], None]]:
    """(client, driver, restore): a CudaClient on a fake CuPy; ``restore()`` undoes the global patches
    (``runtime.cuda.kernels``' driver and CuPy module) so a real CUDA client works again afterwards."""
    from boostr.runtime.cuda import kernels as kmod
    from boostr.runtime.cuda.client import CudaClient

    functions: dict[int, _StubFunction] = {}
    cp = fake_cupy(functions)

    class StubKernels(kmod.KernelCache):
        def _module(self, relpath: str, params: Any) -> Any:
            return _StubModule(relpath, params, functions)

    saved = sys.modules.get("cupy")
    sys.modules["cupy"] = cp  # CudaClient.__init__ imports cupy
    try:
        client = CudaClient(0)
    finally:
        if saved is None:
            del sys.modules["cupy"]
        else:
            sys.modules["cupy"] = saved
    client.kernels = StubKernels(cp, client.compute_capability)
    driver = StubDriver(functions, record)
    old = (kmod._DRIVER, kmod._CUPY)
    kmod._DRIVER, kmod._CUPY = driver, cp

    def restore() -> None:
        kmod._DRIVER, kmod._CUPY = old

    return client, driver, restore


# ------------------------------------------------------------------------------------ timing


def _host_us(fn: Callable[[], Any], sync: Callable[[], None], n: int) -> float:
    """Microseconds per call, best of 3 batches of ``n`` (the device is synced only between batches)."""
    for _ in range(50):
        fn()
    sync()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        sync()
        best = min(best, dt / n * 1e6)
    return best


def _ops(g: Any) -> dict[str, Callable[[], Any]]:
    rng = np.random.default_rng(0)
    s1 = g.from_numpy(rng.random(1024, dtype=np.float32))
    s2 = g.from_numpy(rng.random(1024, dtype=np.float32))
    xs = g.from_numpy(rng.standard_normal((4, 256)).astype(np.float32)).cast("bf16")
    return {
        "add": lambda: g.add(s1, s2),
        "add_scalar": lambda: g.add(s1, 1.0),
        "sum": lambda: g.sum(s1),
        "rms_norm_bf16": lambda: g.rms_norm(xs, None, 1e-6),
    }


def _stub_floor(n: int) -> float:
    """What the stub's own allocation + no-op launch cost per op (subtract it mentally)."""
    from boostr.runtime.cuda import kernels as kmod

    fn = _StubFunction("x", "x", 0x1000)
    drv = kmod._DRIVER

    def one() -> None:
        StubArray((1024,), np.float32)
        drv.launchKernel(fn.ptr, 4, 1, 1, 256, 1, 1, 0, 0, 0, 0)

    return _host_us(one, lambda: None, n)


def main() -> int:
    ap = argparse.ArgumentParser(description="boostr per-op host overhead (tiny tensors)")
    ap.add_argument("--backend", default="stub", choices=("cuda", "cpu", "wgpu", "stub"))
    ap.add_argument("--n", type=int, default=3000, help="calls per timed batch")
    ap.add_argument("--profile", action="store_true", help="also print a cProfile of each op (tottime)")
    ap.add_argument("--top", type=int, default=18, help="rows of each profile")
    ap.add_argument("--ops", default="", help="comma-separated subset of the ops")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    sync: Callable[[], None]
    extra: dict[str, Callable[[], Any]] = {}
    if args.backend == "stub":
        g, _, _ = make_stub_cuda_client()
        sync = g.sync
    else:
        g = boostr.get_client(args.backend)
        sync = g.sync
        if args.backend == "cuda":
            import cupy as cp

            c1, c2 = g._cp_view(g.rand(1024)), g._cp_view(g.rand(1024))
            extra = {"cupy_add": lambda: cp.add(c1, c2), "cupy_sum": lambda: cp.sum(c1)}
    ops = _ops(g)
    if args.ops:
        ops = {k: v for k, v in ops.items() if k in args.ops.split(",")}
    ops.update(extra)
    results = {name: round(_host_us(fn, sync, args.n), 2) for name, fn in ops.items()}
    if args.backend == "stub":
        results["stub_alloc_plus_launch"] = round(_stub_floor(args.n), 2)
    print(f"host overhead ({args.backend}, us/call): " + ", ".join(f"{k} {v:.2f}" for k, v in results.items()))
    if args.profile:
        import cProfile
        import pstats

        for name, fn in ops.items():
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(args.n):
                fn()
            prof.disable()
            sync()
            print(f"== {name}")
            pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)
    if args.json:
        Path(args.json).write_text(json.dumps({"backend": args.backend, "host_us": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
