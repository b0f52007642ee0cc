"""CUDA fast quantized GEMV (kernels/cuda/quant/gemv_fast.cuh) against float64 matmuls of the
reference-dequantized weight: every fast format, M = 1 .. 32, odd N, K chunks, R rows a warp,
and the generic fallback for a raw buffer off its block alignment."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from boostr.quant import FORMATS, QuantTensor
from boostr.runtime import cuda as cuda_rt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from test_quant_data import random_blocks, reference_dequant

REASON = cuda_rt.probe()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"cuda unavailable: {REASON}")


def _fast() -> list[str]:
    from boostr.ops.cuda.quant import GEMV_FAST

    return list(GEMV_FAST)


@pytest.fixture(scope="module")
def cuda():  # type: ignore[no-untyped-def]
    import boostr

    return boostr.get_client("cuda")


def _check(client, name: str, m: int, n: int, k: int, seed: int = 0, raw_tensor=None) -> None:  # type: ignore[no-untyped-def]
    raw = random_blocks(name, n, k, seed=seed)
    src = raw if raw_tensor is None else raw_tensor(raw)
    qt = QuantTensor.from_raw(src, name, (n, k), backend=client)
    x = np.random.default_rng(seed + m).standard_normal((m, k)).astype(np.float32)
    got = client.quant_matmul(client.from_numpy(x), qt).numpy()
    ref = x.astype(np.float64) @ reference_dequant(name, raw).astype(np.float64).T
    assert got.shape == (m, n)
    nmse = float(np.sum((got - ref) ** 2) / max(np.sum(ref**2), 1e-30))
    assert nmse < 1e-10, (name, m, n, k, nmse)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("m", [1, 3, 8, 17, 32])
@pytest.mark.parametrize("name", _fast())
def test_fast_gemv_rows_of_x(cuda, name: str, m: int) -> None:  # type: ignore[no-untyped-def]
    _check(cuda, name, m, 33, 3 * 256, seed=m)


@pytest.mark.parametrize("name", _fast())
def test_fast_gemv_k_chunks(cuda, monkeypatch, name: str) -> None:  # type: ignore[no-untyped-def]
    """x staged in K chunks of 256 .. 2048 floats, the last one partial (K = 5 * 256 + 32 for 32-weight blocks)."""
    from boostr.ops.cuda import quant

    monkeypatch.setattr(quant, "GEMV_X_SMEM", 8 << 10)
    k = 5 * 256 + (32 if FORMATS[name].block_elems == 32 else 0)
    for m in (1, 2, 5):
        _check(cuda, name, m, 19, k, seed=m)


@pytest.mark.parametrize("name", _fast())
def test_fast_gemv_rows_a_warp(cuda, monkeypatch, name: str) -> None:  # type: ignore[no-untyped-def]
    """Every (MB, R) entry, N not a multiple of the rows of a thread block."""
    from boostr.ops.cuda import quant

    for mb, rs in quant.GEMV_R.items():
        for r in rs:
            if r > quant.GEMV_FAST[name]:
                continue
            monkeypatch.setattr(quant, "gemv_rows", lambda *a, r=r: r)
            _check(cuda, name, mb, 8 * r * 2 + 3, 512, seed=r + mb)


@pytest.mark.parametrize("name", ["Q4_0", "Q8_0", "Q6_K", "MXFP4"])
def test_gemv_raw_off_alignment_falls_back(cuda, name: str) -> None:  # type: ignore[no-untyped-def]
    """A raw view 1 byte into its buffer runs the generic kernel (the fast one needs block alignment)."""

    def shifted(raw: np.ndarray):  # type: ignore[no-untyped-def]
        flat = np.concatenate([np.zeros(1, np.uint8), raw.reshape(-1)])
        return cuda.from_numpy(flat)[1:]

    _check(cuda, name, 2, 9, 512, seed=4, raw_tensor=shifted)


def test_fast_gemv_many_blocks(cuda) -> None:  # type: ignore[no-untyped-def]
    """Enough rows for many thread blocks and the default R choice."""
    for name in ("Q4_0", "Q4_K", "Q6_K"):
        _check(cuda, name, 1, 4099, 1024, seed=7)
