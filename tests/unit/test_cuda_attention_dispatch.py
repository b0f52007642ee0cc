"""Which CUDA attention kernels a call launches, and with which trailing arguments, on the fake CuPy of
benchmarks/host_overhead.py (no GPU): dense and ALiBi backward share ``run_bwd`` and dense and ALiBi
decoding share ``run_decode``; the ALiBi entries must get the slopes (and the decode position) last."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "host_overhead.py"


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    spec = importlib.util.spec_from_file_location("boostr_host_overhead", _PATH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # launch_smem opts kernels into > 48 KiB of shared memory through CuPy's driver module: a no-op stand-in
    # (CuPy need not be installed)
    names = ("cupy_backends", "cupy_backends.cuda", "cupy_backends.cuda.api", "cupy_backends.cuda.api.driver")
    mods = [types.ModuleType(n) for n in names]
    for parent, child, name in zip(mods, mods[1:], names[1:], strict=False):
        setattr(parent, name.rsplit(".", 1)[1], child)
    mods[-1].funcSetAttribute = lambda *a: None  # type: ignore[attr-defined]
    mods[-1].CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8  # type: ignore[attr-defined]
    for name, m in zip(names, mods, strict=True):
        monkeypatch.setitem(sys.modules, name, m)
    client, drv, restore = mod.make_stub_cuda_client(record=True)
    try:
        yield client, drv
    finally:
        restore()


def _ptr(t: Any) -> int:
    return int(t.storage.data.ptr + t.offset * t.dtype.itemsize)


def _qkv(g: Any, dt: str, d: int, sq: int, sk: int) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(0)
    q = g.from_numpy(rng.standard_normal((1, 4, sq, d)).astype(np.float32)).cast(dt)
    k = g.from_numpy(rng.standard_normal((1, 2, sk, d)).astype(np.float32)).cast(dt)
    v = g.from_numpy(rng.standard_normal((1, 2, sk, d)).astype(np.float32)).cast(dt)
    return q, k, v


@pytest.mark.parametrize(("dt", "d", "tc"), [("f16", 64, "_tc"), ("bf16", 128, "_tc"), ("f32", 64, "")])
def test_bwd_entries(stub: tuple[Any, Any], dt: str, d: int, tc: str) -> None:
    g, drv = stub
    q, k, v = _qkv(g, dt, d, 70, 90)
    sl = g.alibi_slopes(4)
    for alibi in (False, True):
        kw = {"alibi_slopes": sl} if alibi else {}
        o, lse = g.flash_attention_fwd(q, k, v, causal=True, **kw)
        drv.launches.clear()
        g.flash_attention_bwd(o, q, k, v, o, lse, causal=True, **kw)
        pre = "alibi_" if alibi else ""
        names = [x["entry"] for x in drv.launches]
        assert names == [f"bwd_delta{tc}_{dt}", f"{pre}bwd_dq{tc}{d}_{dt}", f"{pre}bwd_dkdv{tc}{d}_{dt}"]
        for x in drv.launches[1:]:  # the slopes pointer closes the ALiBi argument lists
            raw = x["raw"]
            assert (_ptr(sl) in raw) is alibi
            if alibi:
                assert not any(raw[raw.index(_ptr(sl)) + 1 :])


@pytest.mark.parametrize(("dt", "d", "tc"), [("bf16", 128, "_tc"), ("f16", 64, "_tc"), ("f32", 80, "")])
def test_decode_entries(stub: tuple[Any, Any], dt: str, d: int, tc: str) -> None:
    g, drv = stub
    q, k, v = _qkv(g, dt, d, 1, 300)
    sl = g.alibi_slopes(4)
    for alibi in (False, True):
        kw = {"alibi_slopes": sl} if alibi else {}
        drv.launches.clear()
        g.flash_attention_fwd(q, k, v, causal=True, **kw)
        name = "alibi" if alibi else "flash"
        assert [x["entry"] for x in drv.launches] == [f"{name}_decode{tc}{d}_{dt}", f"flash_decode_combine_{dt}"]
        raw = drv.launches[0]["raw"]
        assert (_ptr(sl) in raw) is alibi
        if alibi:  # slopes, then the query position kv_len - 1, then nothing
            i = raw.index(_ptr(sl))
            assert raw[i + 1] == 299 and not any(raw[i + 2 :])
