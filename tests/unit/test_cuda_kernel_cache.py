"""The CUDA kernel cache's locking and disk cache, driven by a fake CuPy (runs without a GPU).

A fresh process's first ``function()`` call compiles with the cache lock held and resolves the
on-disk folder inside it; a non-reentrant lock deadlocked there (every CUDA op hung on the H100).
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from boostr.runtime.cuda.kernels import KernelCache

ELF = b"\x7fELF fake cubin"
PARAMS = (("T", "float"), ("N", "f32"))


class _FakeCompileError(Exception):
    pass


def _fake_cupy(compiled: list[str]) -> Any:
    def compile_using_nvrtc(src: str, options: Any, arch: str, name: str, cache_in_memory: bool) -> tuple[bytes, None]:
        compiled.append(name)
        return ELF, None

    class RawModule:
        def __init__(self, path: str) -> None:
            self.path = path

        def get_function(self, entry: str) -> Any:
            return SimpleNamespace(kernel=(self.path, entry))

    compiler = SimpleNamespace(compile_using_nvrtc=compile_using_nvrtc, CompileException=_FakeCompileError)
    nvrtc = SimpleNamespace(getVersion=lambda: (13, 2))
    return SimpleNamespace(RawModule=RawModule, cuda=SimpleNamespace(compiler=compiler, nvrtc=nvrtc))


def _in_thread(fn: Any, timeout: float = 20.0) -> Any:
    box: dict[str, Any] = {}

    def run() -> None:
        box["value"] = fn()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "KernelCache.function deadlocked"
    return box["value"]


def test_first_function_call_compiles_without_deadlock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOSTR_CACHE_DIR", str(tmp_path))
    compiled: list[str] = []
    cache = KernelCache(_fake_cupy(compiled), "sm_90")
    path, entry = _in_thread(lambda: cache.function("cuda/creation/arange.cu", "arange_f32", PARAMS))
    assert entry == "arange_f32" and compiled == ["arange.cu"]
    assert Path(path).parent == tmp_path / "cuda" and Path(path).read_bytes() == ELF
    # same (file, entry): memory hit; a second cache on the same folder: disk hit, no compile
    assert cache.function("cuda/creation/arange.cu", "arange_f32", PARAMS) == (path, entry)
    again = KernelCache(_fake_cupy(compiled), "sm_90")
    assert _in_thread(lambda: again.function("cuda/creation/arange.cu", "arange_f32", PARAMS))[0] == path
    assert compiled == ["arange.cu"]


def test_fast_launch_packs_arguments_like_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    """``launch`` fills cuLaunchKernel's parameter slots: ints as int64, floats as double, None as a
    null pointer, structs by value from their buffer, numpy scalars as their own bytes."""
    import ctypes

    import numpy as np

    from boostr.runtime.cuda import kernels as kmod

    seen: dict[str, Any] = {}

    def launch_kernel(f: int, gx: int, gy: int, gz: int, bx: int, by: int, bz: int, smem: int, stream: int,
                      params: int, extra: int) -> None:  # fmt: skip
        ptrs = (ctypes.c_uint64 * 7).from_address(params)
        seen["grid"], seen["block"], seen["smem"], seen["fn"] = (gx, gy, gz), (bx, by, bz), smem, f
        seen["i64"] = [ctypes.c_int64.from_address(ptrs[i]).value for i in (0, 1, 3)]
        seen["f64"] = ctypes.c_double.from_address(ptrs[2]).value
        seen["struct"] = [ctypes.c_int64.from_address(ptrs[4] + 8 * j).value for j in range(3)]
        seen["f32"] = ctypes.c_float.from_address(ptrs[5]).value
        seen["bool"] = ctypes.c_int64.from_address(ptrs[6]).value

    stream = SimpleNamespace(ptr=1234)
    fake_cupy = SimpleNamespace(ndarray=type("nd", (), {}), cuda=SimpleNamespace(get_current_stream=lambda: stream))
    monkeypatch.setattr(kmod, "_CUPY", fake_cupy)
    monkeypatch.setattr(kmod, "_DRIVER", SimpleNamespace(launchKernel=launch_kernel))
    st = kmod.KernelStruct(np.array([3, -4, 5]))
    kmod.launch(SimpleNamespace(ptr=77), (5, 6), 128, [-(2**40), 7, 2.5, None, st, np.float32(1.5), True], shared=96)
    assert seen == {"grid": (5, 6, 1), "block": (128, 1, 1), "smem": 96, "fn": 77, "i64": [-(2**40), 7, 0],
                    "f64": 2.5, "struct": [3, -4, 5], "f32": 1.5, "bool": 1}  # fmt: skip
    # the struct's slot points back at the value memory after the launch
    slots = kmod._SLOTS
    assert slots is not None and int(slots.ptrs[4]) == slots.slot[4]
    with pytest.raises(TypeError, match="argument 0"):
        kmod.launch(SimpleNamespace(ptr=77), 1, 32, ["not a kernel argument"])


def test_same_entry_from_two_renderings_is_two_functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry name shared by two renderings (template parameters differ) yields two functions."""
    monkeypatch.setenv("BOOSTR_CACHE_DIR", str(tmp_path))
    compiled: list[str] = []
    cache = KernelCache(_fake_cupy(compiled), "sm_90")
    a = cache.function("cuda/creation/arange.cu", "arange_f32", PARAMS)
    b = cache.function("cuda/creation/arange.cu", "arange_f32", (("T", "double"), ("N", "f32")))
    assert a[0] != b[0] and len(compiled) == 2
