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
