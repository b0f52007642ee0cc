"""CPU quant kernel paths: register GEMV groups, row-buffer small M, fused SwiGLU, tiled prefill, task splits.

The CPU fused kernel (``boostr/kernels/cpu/quant``) picks a path by the number of activation rows:
M = 1 decodes weights in registers; 2 <= M <= REGISTER_ROWS runs groups of 4 rows on one decode
(the last group zero-padded); up to FUSED_MATMUL_MAX_ROWS, rows beyond REGISTER_ROWS share one
decoded row buffer; more rows go through dequantized tiles + BLAS. Every path is checked against
float64 here, with the same NMSE bound as test_quant_matmul (f32 accumulation of bit-exact weights).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_quant_data import random_blocks, reference_dequant

import boostr
from boostr.quant import FORMATS, QuantTensor

kq = pytest.importorskip("boostr.kernels.cpu.quant")


def _nmse(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.sum((got - ref) ** 2) / max(np.sum(ref**2), 1e-30))


@pytest.fixture(scope="module")
def cpu():  # type: ignore[no-untyped-def]
    return boostr.get_client("cpu")


def _case(name: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    k = 4 * FORMATS[name].block_elems if FORMATS[name].block_elems <= 64 else 2 * FORMATS[name].block_elems
    raw = random_blocks(name, n, k, seed=seed)
    return raw, reference_dequant(name, raw).astype(np.float64), k


@pytest.mark.parametrize("register_rows", [16, 0])
@pytest.mark.parametrize("m", [2, 4, 5, 9, 16])
@pytest.mark.parametrize("name", ["Q4_1", "Q8_0", "Q4_K", "Q6_K", "IQ4_XS", "MXFP4"])
def test_small_m_paths(cpu, monkeypatch, name: str, m: int, register_rows: int) -> None:  # type: ignore[no-untyped-def]
    """Register groups of 4 rows (padded) and, with REGISTER_ROWS lowered, the shared row buffer."""
    monkeypatch.setattr(kq, "REGISTER_ROWS", register_rows)
    raw, wref, k = _case(name, 13, seed=m)
    x = np.random.default_rng(m).standard_normal((m, k)).astype(np.float32)
    got = cpu.quant_matmul(cpu.from_numpy(x), QuantTensor.from_raw(raw, name, (13, k), backend=cpu)).numpy()
    assert _nmse(got, x.astype(np.float64) @ wref.T) < 1e-10, (name, m)


@pytest.mark.parametrize("m", [1, 3, 6, 12, 20])
@pytest.mark.parametrize("name", ["Q4_0", "Q4_1", "Q8_0", "Q4_K", "IQ4_NL"])
def test_quant_swiglu_fused(cpu, name: str, m: int) -> None:  # type: ignore[no-untyped-def]
    """M <= 16 runs the fused CPU kernel (gate and up in one pass); M = 20 the trait's composite."""
    rg, wg, k = _case(name, 11, seed=1)
    ru, wu, _ = _case(name, 11, seed=2)
    g = QuantTensor.from_raw(rg, name, (11, k), backend=cpu)
    u = QuantTensor.from_raw(ru, name, (11, k), backend=cpu)
    x = np.random.default_rng(m).standard_normal((2, m, k)).astype(np.float32)
    got = cpu.quant_swiglu(cpu.from_numpy(x), g, u)
    assert got.shape == (2, m, 11) and got.dtype is boostr.f32
    a = x.astype(np.float64) @ wg.T
    with np.errstate(over="ignore"):  # silu of large negative gate values: a / inf = -0
        ref = a / (1 + np.exp(-a)) * (x.astype(np.float64) @ wu.T)
    assert _nmse(got.numpy(), ref) < 1e-10


def test_quant_swiglu_half_input_falls_back(cpu) -> None:  # type: ignore[no-untyped-def]
    rg, wg, k = _case("Q4_1", 5, seed=3)
    ru, wu, _ = _case("Q4_1", 5, seed=4)
    g = QuantTensor.from_raw(rg, "Q4_1", (5, k), backend=cpu)
    u = QuantTensor.from_raw(ru, "Q4_1", (5, k), backend=cpu)
    x = cpu.from_numpy(np.random.default_rng(5).standard_normal((1, k)).astype(np.float32)).to(boostr.f16)
    got = cpu.quant_swiglu(x, g, u)
    assert got.dtype is boostr.f16
    xf = x.to(boostr.f32).numpy().astype(np.float64)
    a = xf @ wg.T
    assert _nmse(got.to(boostr.f32).numpy(), a / (1 + np.exp(-a)) * (xf @ wu.T)) < 1e-5


def test_tiled_prefill_several_tiles(cpu, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Many rows: each weight tile dequantized once per call, partial last tile, fused and plain formats."""
    monkeypatch.setattr(kq, "TILE_FLOATS", 3 * 512)  # 3 rows of K = 512 per tile
    for name in ("Q4_1", "IQ2_XXS"):
        raw = random_blocks(name, 10, 512, seed=6)
        x = np.random.default_rng(6).standard_normal((33, 512)).astype(np.float32)
        got = cpu.quant_matmul(cpu.from_numpy(x), QuantTensor.from_raw(raw, name, (10, 512), backend=cpu)).numpy()
        ref = x.astype(np.float64) @ reference_dequant(name, raw).astype(np.float64).T
        assert _nmse(got, ref) < 1e-10, name


@pytest.mark.parametrize("name", ["Q4_0", "Q6_K", "IQ3_S", "NVFP4"])
def test_dequantize_task_splits_and_threads(cpu, name: str) -> None:  # type: ignore[no-untyped-def]
    """Odd block counts split over tasks (and 1 vs all threads) stay bit-exact."""
    import numba

    fmt = FORMATS[name]
    rows = 37 if fmt.block_elems == 256 else 301
    raw = random_blocks(name, rows, fmt.block_elems, seed=7)
    qt = QuantTensor.from_raw(raw, name, (rows, fmt.block_elems), backend=cpu)
    ref = reference_dequant(name, raw)
    threads = numba.get_num_threads()
    try:
        for t in sorted({1, threads}):
            numba.set_num_threads(t)
            np.testing.assert_array_equal(qt.dequantize().numpy().view(np.uint32), ref.view(np.uint32))
    finally:
        numba.set_num_threads(threads)


def test_read_only_weights(cpu, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Memory-mapped (read-only) blocks run the same kernels as owned ones."""
    raw = random_blocks("Q4_1", 6, 256, seed=8)
    path = tmp_path / "w.bin"
    raw.tofile(path)
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    qt = QuantTensor.from_raw(mm, "Q4_1", (6, 256), backend=cpu)
    x = np.random.default_rng(8).standard_normal((1, 256)).astype(np.float32)
    ref = reference_dequant("Q4_1", raw).astype(np.float64)
    assert _nmse(cpu.quant_matmul(cpu.from_numpy(x), qt).numpy(), x.astype(np.float64) @ ref.T) < 1e-10
    np.testing.assert_array_equal(qt.dequantize().numpy(), ref.astype(np.float32))
