"""Kernel modules and THE launch helper of the CUDA backend.

Sources are rendered by ``boostr.kernels.sources`` and compiled with NVRTC (through CuPy) once
per (device, source hash, options, arch, NVRTC version): modules are keyed in memory by that
hash and the compiled cubin is kept on disk under ``boostr.config.cache_dir("cuda")`` (written
to a temp file, then renamed atomically). ``name_expressions`` are never used: every entry
point is ``extern "C"`` and named ``<op>_<variant>_<dtype>``.

Launch arguments (see ``_fast_launch``): a Tensor becomes its element pointer (storage + offset), a
``KernelStruct`` is passed by value from host memory, None is a null pointer, Python ints are
int64 and floats are double (kernel parameters are declared ``i64`` / ``double`` / pointers).
"""

from __future__ import annotations

import os
import struct
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...config import cache_dir
from ...errors import KernelCompileError
from ...kernels.sources import render, source_hash
from ...tensor import Tensor

OPTIONS: tuple[str, ...] = ("-std=c++17",)
Params = tuple[tuple[str, object], ...]
_ELF_MAGIC = b"\x7fELF"


class KernelStruct:
    """A C struct passed by value: an int64 host buffer whose address goes to cuLaunchKernel."""

    __slots__ = ("buf",)

    def __init__(self, buf: np.ndarray) -> None:
        self.buf = np.ascontiguousarray(buf, dtype=np.int64)


class KernelCache:
    """Compiled modules of one device, keyed by source hash; functions keyed by (file, params, entry)."""

    def __init__(self, cupy: Any, arch: str) -> None:
        self._cp = cupy
        self.arch = arch
        self.compiler: tuple[str, object]
        try:
            self.compiler = ("nvrtc", tuple(cupy.cuda.nvrtc.getVersion()))
        except Exception:
            self.compiler = ("nvrtc", "unknown")
        self._modules: dict[str, Any] = {}
        self._functions: dict[tuple[str, str, Params], Any] = {}
        self._lock = threading.RLock()  # function() holds it while _module() resolves folder()
        self._folder: Path | None = None

    def folder(self) -> Path:
        """The on-disk cache folder, resolved once (``cache_dir`` probes by writing a file)."""
        if self._folder is None:
            with self._lock:
                if self._folder is None:
                    self._folder = cache_dir("cuda")
        return self._folder

    def function(self, relpath: str, entry: str, params: Params = ()) -> Any:
        """The kernel ``entry`` of ``boostr/kernels/<relpath>`` rendered with ``params``.

        Keyed by (relpath, entry, params): one entry name may come from several renderings (the
        GPTQ kernels with and without act-order share their names, say).
        """
        key = (relpath, entry, params)
        fn = self._functions.get(key)
        if fn is None:
            with self._lock:
                fn = self._functions.get(key)
                if fn is None:
                    raw = self._module(relpath, params).get_function(entry)
                    fn = getattr(raw, "kernel", raw)  # the bare cupy.cuda.function.Function: cheaper calls
                    self._functions[key] = fn
        return fn

    def _module(self, relpath: str, params: Params) -> Any:
        src = render(relpath, **dict(params))
        digest = source_hash(src, OPTIONS, self.arch, self.compiler)
        mod = self._modules.get(digest)
        if mod is None:
            mod = self._cp.RawModule(path=str(self._binary(relpath, src, digest)))
            self._modules[digest] = mod
        return mod

    def _binary(self, relpath: str, src: str, digest: str) -> Path:
        folder = self.folder()
        for ext in (".cubin", ".ptx"):
            path = folder / f"{digest}{ext}"
            if path.is_file() and path.stat().st_size > 0:
                return path
        compiler = self._cp.cuda.compiler
        name = Path(relpath).stem
        try:
            binary, _ = compiler.compile_using_nvrtc(src, OPTIONS, self.arch, f"{name}.cu", cache_in_memory=True)
        except compiler.CompileException as exc:
            raise KernelCompileError(relpath, str(exc), src) from exc
        data = binary if isinstance(binary, bytes) else str(binary).encode()
        ext = ".cubin" if data[:4] == _ELF_MAGIC else ".ptx"
        path = folder / f"{digest}{ext}"
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{digest}-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


MAX_ARGS = 64


class _ArgSlots(threading.local):
    """Per-thread parameter memory for ``cuLaunchKernel``: 8-byte value slots and the array of
    pointers to them (``kernelParams``). The driver copies the values during the launch call, so
    the slots are reused by the next launch."""

    def __init__(self) -> None:
        self.vals = np.zeros(MAX_ARGS, dtype=np.int64)
        self.f64 = self.vals.view(np.float64)
        self.ptrs = np.zeros(MAX_ARGS, dtype=np.uint64)
        base = int(self.vals.ctypes.data)
        self.slot = [base + 8 * i for i in range(MAX_ARGS)]
        self.ptrs[:] = self.slot
        self.params = int(self.ptrs.ctypes.data)
        self.raw = self.vals.data.cast("B")  # the value slots as bytes (packed_launch)
        self.all = (self.vals, self.f64, self.ptrs, self.params, self.raw)  # one thread-local lookup per launch


_SLOTS: _ArgSlots | None = None
_DRIVER: Any = None
_CUPY: Any = None


def _init_driver() -> None:
    global _DRIVER, _CUPY
    if _DRIVER is None:
        import cupy
        from cupy_backends.cuda.api import driver

        _DRIVER, _CUPY = driver, cupy


def _fast_launch(fn: Any, gx: int, gy: int, gz: int, block: int, args: Sequence[Any], shared: int) -> None:
    """``cuLaunchKernel`` with the argument slots filled here: a tenth of CuPy's per-argument cost.

    Same packing as CuPy's launcher: pointers, Python ints (int64), Python floats (double),
    structs by value from their host buffer; numpy scalars as their own bytes. At most
    ``MAX_ARGS`` arguments (``launch`` checks; hooks calling ``fast_launch`` pass fixed lists).
    """
    global _SLOTS
    slots = _SLOTS
    if slots is None:
        slots = _SLOTS = _ArgSlots()
    if _DRIVER is None:
        _init_driver()
    vals, f64, ptrs, params, _ = slots.all
    structs: list[int] | None = None
    try:
        for i, a in enumerate(args):
            t = type(a)
            if t is Tensor:
                vals[i] = a._storage.data.ptr + a.offset * a.dtype.itemsize
            elif t is int:
                vals[i] = a
            elif t is float:
                f64[i] = a
            elif a is None:
                vals[i] = 0
            elif t is bool:
                vals[i] = int(a)
            elif t is KernelStruct:
                ptrs[i] = a.buf.ctypes.data
                if structs is None:
                    structs = [i]
                else:
                    structs.append(i)
            elif isinstance(a, np.generic):
                vals[i] = 0
                raw = np.frombuffer(a.tobytes(), dtype=np.uint8)
                vals[i : i + 1].view(np.uint8)[: raw.size] = raw
            elif isinstance(a, _CUPY.ndarray):
                vals[i] = a.data.ptr
            elif isinstance(a, int):  # int subclasses (IntEnum)
                vals[i] = int(a)
            else:
                raise TypeError(f"kernel argument {i}: cannot pass a {t.__name__}")
        _DRIVER.launchKernel(fn.ptr, gx, gy, gz, block, 1, 1, shared, _CUPY.cuda.get_current_stream().ptr,
                             params, 0)  # fmt: skip
    finally:
        if structs is not None:  # the struct slots point back at the value memory
            for i in structs:
                ptrs[i] = slots.slot[i]


def signature(kinds: str) -> struct.Struct:
    """The packer of a kernel's parameters for ``packed_launch``: one char per parameter, ``p`` a
    device pointer, ``i`` an int64, ``f`` a double (each an 8-byte slot, as ``_fast_launch`` packs)."""
    if len(kinds) > MAX_ARGS or set(kinds) - set("pif"):
        raise ValueError(f"expected at most {MAX_ARGS} of 'p', 'i', 'f', received {kinds!r}")
    return struct.Struct("=" + kinds.replace("p", "q").replace("i", "q").replace("f", "d"))


def dptr(t: Tensor) -> int:
    """The device address of ``t``'s first element (storage pointer + offset)."""
    return int(t._storage.data.ptr + t.offset * t.dtype.itemsize)


def packed_launch(fn: Any, grid: int, block: int, shared: int, sig: struct.Struct, values: tuple[Any, ...]) -> None:
    """``cuLaunchKernel`` over a 1-D ``grid`` with the parameters packed by ``sig`` (see ``signature``)
    in one call: the hot path of the hooks whose arguments are pointers (``dptr``), ints and floats."""
    slots = _SLOTS
    if slots is None or _DRIVER is None:
        _fast_launch(fn, grid, 1, 1, block, list(values), shared)  # first launch: sets everything up
        return
    _, _, _, params, raw = slots.all
    try:
        sig.pack_into(raw, 0, *values)
    except struct.error:  # a value out of int64 range: the generic packer raises numpy's error
        _fast_launch(fn, grid, 1, 1, block, list(values), shared)
        return
    _DRIVER.launchKernel(fn.ptr, grid, 1, 1, block, 1, 1, shared, _CUPY.cuda.get_current_stream().ptr,
                         params, 0)  # fmt: skip


def launch(fn: Any, grid: int | tuple[int, ...], block: int, args: Sequence[Any], shared: int = 0) -> None:
    """THE launch helper: ``cuLaunchKernel`` of ``fn`` on CuPy's current stream (``_fast_launch``).

    ``grid`` is a block count or a (x, y, z) tuple; the structs referenced by ``args`` stay alive
    until cuLaunchKernel has copied the parameters (it does so before returning).
    """
    if isinstance(grid, int):
        gx, gy, gz = grid, 1, 1
    else:
        g = tuple(grid)
        gx = g[0]
        gy = g[1] if len(g) > 1 else 1
        gz = g[2] if len(g) > 2 else 1
    if len(args) > MAX_ARGS:
        raise ValueError(f"at most {MAX_ARGS} kernel arguments, received {len(args)}")
    _fast_launch(fn, gx, gy, gz, block, args, shared)


def flat_grid(n: int, block: int = 256, cap: int = 1 << 22) -> int:
    """Blocks for a grid-stride loop over ``n`` elements (every kernel loops, so capping is safe)."""
    return max(1, min(cap, (n + block - 1) // block))
