"""quant_matmul / quant_swiglu vs float64 matmul of the reference-dequantized weight, on every backend
that declares the format (``backend_formats``). On WebGPU, M = 1, 3 take the GEMV kernel, 17 the
GEMV kernel over row slices, and the many-row cases (M > 32) the tiled kernel on software adapters
(hardware GPUs slice every M into GEMVs; ``test_wgpu_tiled_kernel`` forces the tiled one)."""

from __future__ import annotations

import numpy as np
import pytest
from test_quant_data import backend_formats, random_blocks, reference_dequant

import boostr
from boostr.errors import InvalidArgument, UnsupportedDType
from boostr.quant import FORMATS, QuantTensor

N = 7  # odd on purpose


def _nmse(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.sum((got - ref) ** 2) / max(np.sum(ref**2), 1e-30))


@pytest.fixture(scope="module")
def cpu():  # type: ignore[no-untyped-def]
    return boostr.get_client("cpu")


def _needs(client, name: str) -> None:  # type: ignore[no-untyped-def]
    if name not in backend_formats(client, "quant_matmul"):
        pytest.skip(f"{client.kind} has no {name} quant_matmul")


@pytest.mark.parametrize("m", [1, 3, 17])
@pytest.mark.parametrize("name", list(FORMATS))
def test_quant_matmul_vs_float64(client, name: str, m: int) -> None:  # type: ignore[no-untyped-def]
    be = FORMATS[name].block_elems
    k = 3 * be if be <= 64 else 2 * be
    raw = random_blocks(name, N, k, seed=m)
    wref = reference_dequant(name, raw).astype(np.float64)
    x = np.random.default_rng(m).standard_normal((m, k)).astype(np.float32)
    qt = QuantTensor.from_raw(raw, name, (N, k), backend=client)
    if name not in backend_formats(client, "quant_matmul"):
        with pytest.raises(UnsupportedDType, match=name):
            client.quant_matmul(client.from_numpy(x), qt)
        return
    got = client.quant_matmul(client.from_numpy(x), qt).numpy()
    ref = x.astype(np.float64) @ wref.T
    assert got.shape == (m, N) and got.dtype == np.float32
    assert _nmse(got, ref) < 1e-10, name
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("dtype", [boostr.f16, boostr.bf16])
def test_quant_matmul_half_inputs_and_batch(client, dtype) -> None:  # type: ignore[no-untyped-def]
    _needs(client, "Q4_K")
    if dtype not in client.storage_dtypes:
        pytest.skip(f"{client.kind} does not store {dtype}")
    raw = random_blocks("Q4_K", 9, 512)
    qt = QuantTensor.from_raw(raw, "Q4_K", (9, 512), backend=client)
    x = client.from_numpy(np.random.default_rng(1).standard_normal((2, 3, 512)).astype(np.float32)).to(dtype)
    got = client.quant_matmul(x, qt)
    assert got.dtype is dtype and got.shape == (2, 3, 9)
    ref = x.to(boostr.f32).numpy().astype(np.float64) @ reference_dequant("Q4_K", raw).astype(np.float64).T
    assert _nmse(got.to(boostr.f32).numpy(), ref) < 1e-4


def test_quant_matmul_half_inputs_many_rows(client) -> None:  # type: ignore[no-untyped-def]
    """f16 activations with many rows (CUDA: f16 weight tiles + cuBLAS with f32 accumulation)."""
    _needs(client, "Q4_K")
    if boostr.f16 not in client.storage_dtypes:
        pytest.skip(f"{client.kind} does not store f16")
    raw = random_blocks("Q4_K", 70, 512, seed=11)
    qt = QuantTensor.from_raw(raw, "Q4_K", (70, 512), backend=client)
    x = client.from_numpy(np.random.default_rng(11).standard_normal((40, 512)).astype(np.float32)).to(boostr.f16)
    got = client.quant_matmul(x, qt)
    assert got.dtype is boostr.f16 and got.shape == (40, 70)
    ref = x.to(boostr.f32).numpy().astype(np.float64) @ reference_dequant("Q4_K", raw).astype(np.float64).T
    assert _nmse(got.to(boostr.f32).numpy(), ref) < 1e-4


MANY_ROWS = [("Q6_K", 33, 768, 64), ("Q8_0", 70, 96, 130), ("IQ2_XS", 5, 256, 40)]


@pytest.mark.parametrize(("name", "n", "k", "m"), MANY_ROWS)
def test_quant_matmul_tiled_path_many_rows(client, name: str, n: int, k: int, m: int) -> None:  # type: ignore[no-untyped-def]
    """Several row and column tiles, partial edge tiles, and a format decoded by the generic tile path."""
    _needs(client, name)
    raw = random_blocks(name, n, k, seed=2)
    qt = QuantTensor.from_raw(raw, name, (n, k), backend=client)
    x = np.random.default_rng(2).standard_normal((m, k)).astype(np.float32)
    got = client.quant_matmul(client.from_numpy(x), qt).numpy()
    assert _nmse(got, x.astype(np.float64) @ reference_dequant(name, raw).astype(np.float64).T) < 1e-10


def test_wgpu_tiled_kernel(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The tiled kernel on any adapter (hardware GPUs otherwise run every M as GEMV slices)."""
    if client.kind != "wgpu":
        pytest.skip("WebGPU kernel selection")
    from boostr.ops.wgpu import quant as wq

    monkeypatch.setattr(wq, "_software", lambda c: True)
    for name, n, k, m in [("Q4_K", 70, 512, 65), ("TQ1_0", 9, 256, 33)]:
        raw = random_blocks(name, n, k, seed=8)
        qt = QuantTensor.from_raw(raw, name, (n, k), backend=client)
        x = np.random.default_rng(8).standard_normal((m, k)).astype(np.float32)
        got = client.quant_matmul(client.from_numpy(x), qt).numpy()
        assert _nmse(got, x.astype(np.float64) @ reference_dequant(name, raw).astype(np.float64).T) < 1e-10, name


def test_quant_matmul_view_input(client) -> None:  # type: ignore[no-untyped-def]
    """x a strided / offset view: the backend copies it as its kernels need."""
    _needs(client, "Q4_0")
    raw = random_blocks("Q4_0", 5, 64, seed=3)
    qt = QuantTensor.from_raw(raw, "Q4_0", (5, 64), backend=client)
    big = np.random.default_rng(3).standard_normal((4, 65)).astype(np.float32)
    x = client.from_numpy(big)[1:, 1:]
    got = client.quant_matmul(x, qt).numpy()
    ref = big[1:, 1:].astype(np.float64) @ reference_dequant("Q4_0", raw).astype(np.float64).T
    assert got.shape == (3, 5) and _nmse(got, ref) < 1e-10


def test_quant_swiglu(client) -> None:  # type: ignore[no-untyped-def]
    _needs(client, "Q4_0")
    rg, ru = random_blocks("Q4_0", 11, 64, seed=4), random_blocks("Q4_0", 11, 64, seed=5)
    g = QuantTensor.from_raw(rg, "Q4_0", (11, 64), backend=client)
    u = QuantTensor.from_raw(ru, "Q4_0", (11, 64), backend=client)
    x = np.random.default_rng(6).standard_normal((3, 64)).astype(np.float32)
    got = client.quant_swiglu(client.from_numpy(x), g, u).numpy()
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


def test_quant_ops_split_tensors_over_the_binding_limit() -> None:
    """Raw blocks, activations and outputs larger than one storage binding are split by rows into
    binding windows (a WebGPU client whose binding limit is lowered to 64 KiB for the test)."""
    from boostr.runtime.registry import backend_status

    if backend_status("wgpu") is not None:
        pytest.skip("wgpu unavailable")
    from boostr.runtime.wgpu.client import WgpuClient

    c = WgpuClient(0)
    c.max_binding = 1 << 16
    for name, n, k in [("Q8_0", 301, 512), ("MXFP4", 77, 3520)]:
        raw = random_blocks(name, n, k, seed=1)
        qt = QuantTensor.from_raw(raw, name, (n, k), backend=c)
        assert qt.data.storage.buffer.size > c.max_binding
        ref = reference_dequant(name, raw)
        np.testing.assert_array_equal(qt.dequantize().numpy(), ref)
        for m in (1, 70):
            x = np.random.default_rng(m).standard_normal((m, k)).astype(np.float32)
            got = c.quant_matmul(c.from_numpy(x), qt).numpy()
            assert _nmse(got, x.astype(np.float64) @ ref.astype(np.float64).T) < 1e-10, (name, m)
    x = np.random.default_rng(0).standard_normal((40, 1024)).astype(np.float32)
    from gguf import GGMLQuantizationType, quants

    q = c.quantize(c.from_numpy(x), "Q8_0")
    np.testing.assert_array_equal(q.raw(), quants.quantize(x, GGMLQuantizationType.Q8_0).reshape(-1))


# ---- CUDA fast GEMV launch shapes and the fused SwiGLU (other backends run the same cases on their paths)
FAST = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS", "MXFP4"]
SHAPES = [(8, 1, 1, 0, 1), (4, 2, 2, 0, 2), (2, 4, 1, 256, 4), (1, 1, 2, 256, 3), (8, 2, 2, 0, 4)]
"""Forced GemvConfig fields (warps, r, pf, kc, split): K splits of a partial last range, chunks of 256."""


def _force(client, monkeypatch, cfg: tuple[int, ...]) -> None:  # type: ignore[no-untyped-def]
    """On CUDA, every fast GEMV / SwiGLU launch takes the launch shape ``cfg`` (clamped as the dispatch does)."""
    if client.kind != "cuda":
        return
    from boostr.ops.cuda import quant as cq

    def pick(name, n, k, mb, sms, rs=None):  # type: ignore[no-untyped-def]
        return cq._resolve(name, n, k, mb, sms, cq.GemvConfig(*cfg), rs)

    monkeypatch.setattr(cq, "gemv_config", pick)
    monkeypatch.setattr(cq, "swiglu_config", lambda name, n, k, mb, sms: pick(name, n, k, mb, sms, cq.SWIGLU_R[mb]))


def _k(name: str) -> int:
    """Several 256-weight split ranges and x chunks, the last partial for 32-weight blocks."""
    return 5 * 256 + (32 if FORMATS[name].block_elems == 32 else 0)


@pytest.mark.parametrize("cfg", SHAPES)
@pytest.mark.parametrize("name", FAST)
def test_gemv_launch_shapes(client, monkeypatch, name: str, cfg) -> None:  # type: ignore[no-untyped-def]
    """Odd N (and N below one CTA's rows), M = 1 .. 8, K over several chunks / split ranges."""
    _needs(client, name)
    _force(client, monkeypatch, cfg)
    k = _k(name)
    for n, m in ((37, 1), (5, 2), (37, 3), (11, 8)):
        raw = random_blocks(name, n, k, seed=n + m)
        qt = QuantTensor.from_raw(raw, name, (n, k), backend=client)
        x = np.random.default_rng(m).standard_normal((m, k)).astype(np.float32)
        got = client.quant_matmul(client.from_numpy(x), qt).numpy()
        ref = x.astype(np.float64) @ reference_dequant(name, raw).astype(np.float64).T
        assert got.shape == (m, n) and _nmse(got, ref) < 1e-10, (name, cfg, n, m, _nmse(got, ref))


def _swiglu_ref(x: np.ndarray, rg: np.ndarray, ru: np.ndarray, name: str) -> np.ndarray:
    a = x.astype(np.float64) @ reference_dequant(name, rg).astype(np.float64).T
    with np.errstate(over="ignore"):  # silu of large negative gate values: a / inf = -0
        return a / (1 + np.exp(-a)) * (x.astype(np.float64) @ reference_dequant(name, ru).astype(np.float64).T)


@pytest.mark.parametrize("cfg", [SHAPES[0], SHAPES[2], SHAPES[4]])
@pytest.mark.parametrize("name", FAST)
def test_quant_swiglu_fused_shapes(client, monkeypatch, name: str, cfg) -> None:  # type: ignore[no-untyped-def]
    """M = 1 .. 8 (CUDA: the fused gemv_swiglu kernel), odd N, K over several chunks / split ranges."""
    _needs(client, name)
    _force(client, monkeypatch, cfg)
    k = _k(name)
    for n, m in ((37, 1), (5, 2), (19, 5), (11, 8)):
        rg, ru = random_blocks(name, n, k, seed=n), random_blocks(name, n, k, seed=n + 1)
        g = QuantTensor.from_raw(rg, name, (n, k), backend=client)
        u = QuantTensor.from_raw(ru, name, (n, k), backend=client)
        x = np.random.default_rng(m).standard_normal((m, k)).astype(np.float32)
        got = client.quant_swiglu(client.from_numpy(x), g, u)
        assert got.shape == (m, n) and got.dtype is boostr.f32
        assert _nmse(got.numpy(), _swiglu_ref(x, rg, ru, name)) < 1e-10, (name, cfg, n, m)


def test_quant_swiglu_half_batch_and_fallbacks(client) -> None:  # type: ignore[no-untyped-def]
    """f16 x [2, 3, K] (fused on CUDA, f16 out), M = 12 (the trait's composite), a raw buffer 1 byte
    off its block alignment (CUDA: the composite over the generic GEMV kernel) and mixed formats."""
    _needs(client, "Q4_K")
    rg, ru = random_blocks("Q4_K", 9, 512, seed=1), random_blocks("Q4_K", 9, 512, seed=2)
    g = QuantTensor.from_raw(rg, "Q4_K", (9, 512), backend=client)
    u = QuantTensor.from_raw(ru, "Q4_K", (9, 512), backend=client)
    xs = (np.random.default_rng(3).standard_normal((2, 3, 512)) * 0.05).astype(np.float32)  # f16-sized products
    if boostr.f16 in client.storage_dtypes:
        x = client.from_numpy(xs).to(boostr.f16)
        got = client.quant_swiglu(x, g, u)
        assert got.dtype is boostr.f16 and got.shape == (2, 3, 9)
        ref = _swiglu_ref(x.to(boostr.f32).numpy().reshape(6, 512), rg, ru, "Q4_K")
        assert _nmse(got.to(boostr.f32).numpy().reshape(6, 9), ref) < 1e-5
    x12 = np.random.default_rng(4).standard_normal((12, 512)).astype(np.float32)
    assert _nmse(client.quant_swiglu(client.from_numpy(x12), g, u).numpy(), _swiglu_ref(x12, rg, ru, "Q4_K")) < 1e-10
    if client.kind == "cuda":  # a raw view 1 byte into its buffer
        flat = np.concatenate([np.zeros(1, np.uint8), ru.reshape(-1)])
        u_off = QuantTensor.from_raw(client.from_numpy(flat)[1:], "Q4_K", (9, 512), backend=client)
        x1 = xs[0, :1]
        assert (
            _nmse(client.quant_swiglu(client.from_numpy(x1), g, u_off).numpy(), _swiglu_ref(x1, rg, ru, "Q4_K")) < 1e-10
        )
    if "Q8_0" in backend_formats(client, "quant_matmul"):  # gate and up of different formats
        rq = random_blocks("Q8_0", 9, 512, seed=5)
        q8 = QuantTensor.from_raw(rq, "Q8_0", (9, 512), backend=client)
        x1 = xs[1, :2]
        a = x1.astype(np.float64) @ reference_dequant("Q4_K", rg).astype(np.float64).T
        ref = a / (1 + np.exp(-a)) * (x1.astype(np.float64) @ reference_dequant("Q8_0", rq).astype(np.float64).T)
        assert _nmse(client.quant_swiglu(client.from_numpy(x1), g, q8).numpy(), ref) < 1e-10


def test_gemv_raw_off_alignment_rows_of_x(client) -> None:  # type: ignore[no-untyped-def]
    """M = 1 .. 8 with a raw view 1 byte into its buffer (CUDA: the generic gemv_<fmt>_m<MB> kernel)."""
    if client.kind != "cuda":
        pytest.skip("CUDA kernel selection")
    for name in ("Q4_K", "Q5_0"):
        raw = random_blocks(name, 13, 512, seed=6)
        flat = np.concatenate([np.zeros(1, np.uint8), raw.reshape(-1)])
        qt = QuantTensor.from_raw(client.from_numpy(flat)[1:], name, (13, 512), backend=client)
        for m in range(1, 9):
            x = np.random.default_rng(m).standard_normal((m, 512)).astype(np.float32)
            got = client.quant_matmul(client.from_numpy(x), qt).numpy()
            ref = x.astype(np.float64) @ reference_dequant(name, raw).astype(np.float64).T
            assert _nmse(got, ref) < 1e-10, (name, m)


def test_gemv_config_table() -> None:
    """The dispatch table: nearest shape class within a factor 2, defaults elsewhere, clamped fields."""
    from boostr.ops.cuda import quant as cq

    table = {("Q4_K", 1, 4096, 4096): (4, 2, 2, 512, 2), ("Q4_K", 1, 28672, 8192): (8, 4, 1, 0, 1)}
    old = cq.GEMV_TUNED
    try:
        cq.GEMV_TUNED = table
        assert cq.gemv_config("Q4_K", 4096, 4096, 1, 132) == cq.GemvConfig(4, 2, 2, 512, 2)
        assert cq.gemv_config("Q4_K", 6144, 4096, 1, 132) == cq.GemvConfig(4, 2, 2, 512, 2)
        assert cq.gemv_config("Q4_K", 576, 576, 1, 132) == cq.GemvConfig(8, 1, 1, 576, 1)  # no class: defaults
        assert cq.gemv_config("Q4_K", 4096, 4096, 2, 132).split == 1  # MB = 2 has no entry
        assert cq.gemv_config("Q6_K", 4096, 4096, 1, 132).pf == 1
        assert cq.gemv_config("Q4_K", 20000, 8192, 1, 132).r == 4
        sw = cq.swiglu_config("Q4_K", 28672, 8192, 1, 132)
        assert sw.r == 2 and cq.swiglu_config("Q6_K", 28672, 8192, 1, 132).r == 1
    finally:
        cq.GEMV_TUNED = old
    assert cq.gemv_split(4096, 4096, 2) == (2048, 2, 2048)
    assert cq.gemv_split(1312, 256, 4) == (512, 3, 256)
    assert cq.gemv_split(96, 96, 4) == (96, 1, 96)
    assert cq.gemv_smem(16384, 1) == 65536 + 4096
