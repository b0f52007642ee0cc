"""quant_matmul / quant_swiglu on the CPU vs float64 matmul of the reference-dequantized weight."""

from __future__ import annotations

import numpy as np
import pytest
from test_quant_data import random_blocks, reference_dequant

import boostr
from boostr.errors import InvalidArgument
from boostr.quant import FORMATS, QuantTensor

N = 7  # odd on purpose


def _nmse(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.sum((got - ref) ** 2) / max(np.sum(ref**2), 1e-30))


@pytest.fixture(scope="module")
def cpu():  # type: ignore[no-untyped-def]
    return boostr.get_client("cpu")


@pytest.mark.parametrize("m", [1, 3, 17])
@pytest.mark.parametrize("name", list(FORMATS))
def test_quant_matmul_vs_float64(cpu, name: str, m: int) -> None:  # type: ignore[no-untyped-def]
    be = FORMATS[name].block_elems
    k = 3 * be if be <= 64 else 2 * be
    raw = random_blocks(name, N, k, seed=m)
    wref = reference_dequant(name, raw).astype(np.float64)
    x = np.random.default_rng(m).standard_normal((m, k)).astype(np.float32)
    qt = QuantTensor.from_raw(raw, name, (N, k), backend="cpu")
    got = cpu.quant_matmul(cpu.from_numpy(x), qt).numpy()
    ref = x.astype(np.float64) @ wref.T
    assert got.shape == (m, N) and got.dtype == np.float32
    assert _nmse(got, ref) < 1e-10, name
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("dtype", [boostr.f16, boostr.bf16])
def test_quant_matmul_half_inputs_and_batch(cpu, dtype) -> None:  # type: ignore[no-untyped-def]
    raw = random_blocks("Q4_K", 9, 512)
    qt = QuantTensor.from_raw(raw, "Q4_K", (9, 512))
    x = cpu.from_numpy(np.random.default_rng(1).standard_normal((2, 3, 512)).astype(np.float32)).to(dtype)
    got = cpu.quant_matmul(x, qt)
    assert got.dtype is dtype and got.shape == (2, 3, 9)
    ref = x.to(boostr.f32).numpy().astype(np.float64) @ reference_dequant("Q4_K", raw).astype(np.float64).T
    assert _nmse(got.to(boostr.f32).numpy(), ref) < 1e-4


def test_quant_matmul_tiled_path_many_rows(cpu) -> None:  # type: ignore[no-untyped-def]
    raw = random_blocks("Q6_K", 33, 768, seed=2)
    qt = QuantTensor.from_raw(raw, "Q6_K", (33, 768))
    x = np.random.default_rng(2).standard_normal((64, 768)).astype(np.float32)
    got = cpu.quant_matmul(cpu.from_numpy(x), qt).numpy()
    assert _nmse(got, x.astype(np.float64) @ reference_dequant("Q6_K", raw).astype(np.float64).T) < 1e-10


def test_quant_swiglu(cpu) -> None:  # type: ignore[no-untyped-def]
    rg, ru = random_blocks("Q4_0", 11, 64, seed=4), random_blocks("Q4_0", 11, 64, seed=5)
    g = QuantTensor.from_raw(rg, "Q4_0", (11, 64))
    u = QuantTensor.from_raw(ru, "Q4_0", (11, 64))
    x = np.random.default_rng(6).standard_normal((3, 64)).astype(np.float32)
    got = cpu.quant_swiglu(cpu.from_numpy(x), g, u).numpy()
    a = x.astype(np.float64) @ reference_dequant("Q4_0", rg).astype(np.float64).T
    b = x.astype(np.float64) @ reference_dequant("Q4_0", ru).astype(np.float64).T
    assert _nmse(got, a / (1 + np.exp(-a)) * b) < 1e-10


def test_quant_matmul_rejects(cpu) -> None:  # type: ignore[no-untyped-def]
    qt = QuantTensor.from_raw(random_blocks("Q8_0", 4, 64), "Q8_0", (4, 64))
    with pytest.raises(InvalidArgument):
        cpu.quant_matmul(cpu.from_numpy(np.ones((2, 32), np.float32)), qt)  # K mismatch
    with pytest.raises(InvalidArgument):
        cpu.quant_matmul(cpu.from_numpy(np.ones((2, 64), np.int32)), qt)
    with pytest.raises(InvalidArgument):
        cpu.quant_matmul(cpu.from_numpy(np.ones((2, 64), np.float32)), np.ones((4, 64)))
    q3 = QuantTensor.from_raw(random_blocks("Q8_0", 4, 64), "Q8_0", (2, 2, 64))
    with pytest.raises(InvalidArgument):
        cpu.quant_matmul(cpu.from_numpy(np.ones((2, 64), np.float32)), q3)
