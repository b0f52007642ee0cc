"""quantize (f32 -> GGML blocks) on the CPU.

Bit-exact with gguf-py where it quantizes (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, TQ1_0, TQ2_0, MXFP4)
and with llama.cpp's formulas for Q8_1, Q8_K (numpy ports below). For the K-quants and IQ4
the round-trip RMSE on 64 x 512 standard gaussians (seed 0) must not exceed the figure of
boostr's f32 port of llama.cpp's reference quantizers (``quantize_row_q*_K_ref``,
``quantize_iq4_nl`` / ``quantize_iq4_xs`` with ntry 7), recorded when the port was written:
Q2_K 0.2957, Q3_K 0.1518, Q4_K 0.0713, Q5_K 0.0364, Q6_K 0.0178, Q8_K 0.0070,
IQ4_NL 0.0764, IQ4_XS 0.0769 (for scale: Q4_0 0.0863, Q5_0 0.0428, Q8_0 0.0054).
"""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGMLQuantizationType as GgmlType
from gguf import quants as gq
from test_quant_data import backend_formats

import boostr
from boostr.errors import InvalidArgument, UnsupportedDType
from boostr.quant import FORMATS

RMSE_PORT = {
    "Q2_K": 0.2957, "Q3_K": 0.1518, "Q4_K": 0.0713, "Q5_K": 0.0364, "Q6_K": 0.0178, "Q8_K": 0.0070,
    "IQ4_NL": 0.0764, "IQ4_XS": 0.0769, "Q1_0": 0.5981,
}  # fmt: skip
GGUF_EXACT = ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "TQ1_0", "TQ2_0", "MXFP4")


@pytest.fixture(scope="module")
def cpu():  # type: ignore[no-untyped-def]
    return boostr.get_client("cpu")


def _gauss(rows: int = 64, k: int = 512, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, k)).astype(np.float32)


@pytest.mark.parametrize("name", GGUF_EXACT)
def test_quantize_bit_exact_with_gguf(cpu, name: str) -> None:  # type: ignore[no-untyped-def]
    x = _gauss(8, 512, seed=3)
    x[0, :32] = 0.0  # an all-zero block
    x[1, :256] *= 1e-3
    got = cpu.quantize(cpu.from_numpy(x), name)
    np.testing.assert_array_equal(got.raw(), gq.quantize(x, GgmlType[name]).reshape(-1))


def test_quantize_q8_1_and_q8_k_follow_llama_cpp(cpu) -> None:  # type: ignore[no-untyped-def]
    x = _gauss(4, 256, seed=5)
    b1 = cpu.quantize(cpu.from_numpy(x), "Q8_1").raw().reshape(-1, 36)
    b0 = gq.quantize(x, GgmlType.Q8_0).reshape(-1, 34)
    np.testing.assert_array_equal(b1[:, :2], b0[:, :2])
    np.testing.assert_array_equal(b1[:, 4:], b0[:, 2:])
    amax = np.abs(x.reshape(-1, 32)).max(axis=1)
    s = b1[:, 4:].view(np.int8).astype(np.int32).sum(axis=1).astype(np.float32) * (amax / np.float32(127))
    np.testing.assert_array_equal(b1[:, 2:4].copy().view(np.float16)[:, 0], s.astype(np.float16))

    bk = cpu.quantize(cpu.from_numpy(x), "Q8_K").raw().reshape(-1, 292)
    xb = x.reshape(-1, 256)
    mx = xb[np.arange(len(xb)), np.abs(xb).argmax(axis=1)]
    iscale = (np.float32(-127.0) / mx).astype(np.float32)
    q = np.minimum(127, np.rint(iscale[:, None] * xb)).astype(np.int8)
    np.testing.assert_array_equal(bk[:, 4:260].view(np.int8), q)
    np.testing.assert_array_equal(bk[:, :4].copy().view(np.float32)[:, 0], (np.float32(1) / iscale))
    np.testing.assert_array_equal(bk[:, 260:].copy().view(np.int16), q.reshape(-1, 16, 16).sum(axis=2))


@pytest.mark.parametrize("name", list(RMSE_PORT))
def test_round_trip_rmse_no_worse_than_port(cpu, name: str) -> None:  # type: ignore[no-untyped-def]
    x = _gauss()
    qt = cpu.quantize(cpu.from_numpy(x), name)
    assert qt.format == name and qt.shape == x.shape
    rmse = float(np.sqrt(np.mean((qt.dequantize().numpy() - x) ** 2)))
    assert rmse <= RMSE_PORT[name], f"{name}: rmse {rmse:.5f} > {RMSE_PORT[name]}"
    assert rmse >= 0.8 * RMSE_PORT[name]  # the figure is this quantizer's, not a loose bound


def test_quantize_edge_blocks(cpu) -> None:  # type: ignore[no-untyped-def]
    x = np.zeros((3, 256), np.float32)
    x[1] = 7.0
    x[2, 5] = -3.0
    for name in ("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ4_NL", "IQ4_XS"):
        y = cpu.quantize(cpu.from_numpy(x), name).dequantize().numpy()
        assert np.isfinite(y).all(), name
        np.testing.assert_allclose(y[0], 0.0, err_msg=name)
        np.testing.assert_allclose(y, x, atol=0.1 * 7.0, err_msg=name)


def test_quantize_refuses(cpu) -> None:  # type: ignore[no-untyped-def]
    x = cpu.from_numpy(_gauss(2, 256))
    with pytest.raises(UnsupportedDType, match="IQ2_XXS"):
        cpu.quantize(x, "IQ2_XXS")
    with pytest.raises(InvalidArgument):
        cpu.quantize(cpu.from_numpy(_gauss(2, 96)), "Q4_K")
    with pytest.raises(InvalidArgument):
        cpu.quantize(cpu.from_numpy(np.ones((2, 32), np.int32)), "Q4_0")
    assert set(RMSE_PORT) | set(GGUF_EXACT) | {"Q8_1"} <= set(FORMATS)


@pytest.mark.parametrize("name", ["Q8_0", "Q8_1", "Q8_K", "Q4_K", "IQ4_XS"])
def test_quantize_on_each_backend(client, name: str) -> None:  # type: ignore[no-untyped-def]
    """Backends that declare a quantizer match the CPU's bytes (gguf-py's where it quantizes);
    the others refuse. Odd block counts leave the last u32 word of a GPU byte stream half used."""
    x = _gauss(7, 96 if name in ("Q8_0", "Q8_1") else 256, seed=9)
    x[0, :32] = 0.0
    x[1] *= np.float32(1e-6)
    x[2] *= np.float32(3e4)
    xt = client.from_numpy(x)
    if name not in backend_formats(client, "quantize"):
        with pytest.raises(UnsupportedDType, match=name):
            client.quantize(xt, name)
        return
    got = client.quantize(xt, name)
    assert got.format == name and got.shape == x.shape and got.client is client
    cpu = boostr.get_client("cpu")
    want = (
        gq.quantize(x, GgmlType[name]).reshape(-1)
        if name in GGUF_EXACT
        else cpu.quantize(cpu.from_numpy(x), name).raw()
    )
    np.testing.assert_array_equal(got.raw(), want)
