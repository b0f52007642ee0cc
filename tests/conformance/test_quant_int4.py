"""NF4 / AWQ / GPTQ (4-bit) dequantize and quant_matmul on every backend vs float64 references.

Checkpoints are packed from random codes with the quantizers' own packing (``boostr.testing.int4_refs``);
the references unpack them with explicit loops. Dequantize in f32 is exact ((q - z) * s is exact in
f32; NF4's code * absmax is bitsandbytes' f32 product). quant_matmul: M = 1, 3 run the GEMV kernels,
17 the GEMV (CPU: tiled), 128 the tiled kernels on every backend.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np
import pytest

import boostr
from boostr.errors import FormatError, InvalidArgument
from boostr.quant import Int4QuantTensor, QuantTensor
from boostr.testing import int4_refs as refs

N = 33  # odd on purpose: AWQ / GPTQ zeros end in a partly used word
K = 256


@functools.cache
def _ckpt(fmt: str, gs: int = 64, act: bool = False, zero: int | None = None, n: int = N, k: int = K):  # type: ignore[no-untyped-def]
    """(checkpoint arrays, float64 W [n, k]) of random codes; ``zero`` pins every stored zero nibble."""
    rng = np.random.default_rng(zlib.crc32(repr((fmt, gs, act, zero, n, k)).encode()))
    if fmt == "NF4":
        codes = rng.integers(0, 16, (n, k))
        absmax = (rng.random(-(-n * k // gs)) * 2 + 0.1).astype(np.float32)
        packed = refs.pack_nf4(codes)
        return {"packed": packed, "absmax": absmax}, refs.ref_nf4(packed, absmax, n, k, gs)
    g = k // (k if gs == -1 else gs)
    q = rng.integers(0, 16, (k, n))
    z = rng.integers(0, 16, (g, n)) if zero is None else np.full((g, n), zero)
    s = (rng.random((g, n)) * 0.02 + 0.001).astype(np.float16)
    if fmt == "AWQ":
        qw, qz = refs.pack_awq(q), refs.pack_awq(z)
        return {"qweight": qw, "qzeros": qz, "scales": s}, refs.ref_awq(qw, qz, s, gs)
    gi = rng.permutation(np.arange(k) // (k if gs == -1 else gs)).astype(np.int32) if act else None
    qw, qz = refs.pack_gptq_qweight(q), refs.pack_gptq_qzeros(z)
    return {"qweight": qw, "qzeros": qz, "scales": s, "g_idx": gi}, refs.ref_gptq(qw, qz, s, gs, gi)


def _load(client, fmt: str, gs: int = 64, act: bool = False, zero: int | None = None, **kw):  # type: ignore[no-untyped-def]
    arrs, ref = _ckpt(fmt, gs, act, zero, **kw)
    n, k = ref.shape
    if fmt == "NF4":
        w = QuantTensor.from_nf4(arrs["packed"], arrs["absmax"], (n, k), gs, backend=client)
    elif fmt == "AWQ":
        w = QuantTensor.from_awq(arrs["qweight"], arrs["qzeros"], arrs["scales"], gs, backend=client)
    else:
        w = QuantTensor.from_gptq(arrs["qweight"], arrs["qzeros"], arrs["scales"], gs, arrs["g_idx"], backend=client)
    return w, ref


def _nmse(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.sum((got - ref) ** 2) / max(np.sum(ref**2), 1e-30))


CASES = [("NF4", 64), ("NF4", 128), ("NF4", 32), ("NF4", 512)]  # 512: blocks span rows, the last one partial
CASES += [(f, gs) for f in ("AWQ", "GPTQ") for gs in (32, 64, 128, -1)]


@pytest.mark.parametrize(("fmt", "gs"), CASES)
def test_dequantize_exact(client, fmt: str, gs: int) -> None:  # type: ignore[no-untyped-def]
    w, ref = _load(client, fmt, gs)
    assert isinstance(w, Int4QuantTensor) and w.shape == (N, K) and w.format == fmt
    got = w.dequantize().numpy()
    assert got.dtype == np.float32 and got.shape == (N, K)
    np.testing.assert_array_equal(got.astype(np.float64), ref)


@pytest.mark.parametrize("zero", [0, 15])
@pytest.mark.parametrize("fmt", ["AWQ", "GPTQ"])
def test_zero_points_at_the_ends(client, fmt: str, zero: int) -> None:  # type: ignore[no-untyped-def]
    w, ref = _load(client, fmt, 32, zero=zero)
    np.testing.assert_array_equal(w.dequantize().numpy().astype(np.float64), ref)
    x = np.random.default_rng(zero).standard_normal((3, K)).astype(np.float32)
    got = client.quant_matmul(client.from_numpy(x), w).numpy()
    assert _nmse(got, x.astype(np.float64) @ ref.T) < 1e-10


def test_gptq_v2_zeros_have_no_offset(client) -> None:  # type: ignore[no-untyped-def]
    arrs, _ = _ckpt("GPTQ", 64)
    w = QuantTensor.from_gptq(arrs["qweight"], arrs["qzeros"], arrs["scales"], 64, backend=client,
                              checkpoint_format="gptq_v2")  # fmt: skip
    ref = refs.ref_gptq(arrs["qweight"], arrs["qzeros"], arrs["scales"], 64, zero_offset=0)
    np.testing.assert_array_equal(w.dequantize().numpy().astype(np.float64), ref)


MM_CASES = [("NF4", 64, False), ("AWQ", 128, False), ("AWQ", 32, False), ("GPTQ", 64, False), ("GPTQ", 32, True),
            ("GPTQ", 128, True), ("GPTQ", -1, False)]  # fmt: skip


@pytest.mark.parametrize("m", [1, 3, 17, 128])
@pytest.mark.parametrize(("fmt", "gs", "act"), MM_CASES)
def test_quant_matmul_vs_float64(client, fmt: str, gs: int, act: bool, m: int) -> None:  # type: ignore[no-untyped-def]
    w, ref = _load(client, fmt, gs, act)
    x = np.random.default_rng(m).standard_normal((m, K)).astype(np.float32)
    got = client.quant_matmul(client.from_numpy(x), w).numpy()
    want = x.astype(np.float64) @ ref.T
    assert got.shape == (m, N) and got.dtype == np.float32
    assert _nmse(got, want) < 1e-10, (fmt, gs, act, m)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_act_order_is_a_permutation_of_groups(client) -> None:  # type: ignore[no-untyped-def]
    """A g_idx that is a permutation gives a different W than k // group_size, and k // gs is dropped."""
    arrs, ref = _ckpt("GPTQ", 32, act=True)
    w = QuantTensor.from_gptq(arrs["qweight"], arrs["qzeros"], arrs["scales"], 32, arrs["g_idx"], backend=client)
    plain = QuantTensor.from_gptq(arrs["qweight"], arrs["qzeros"], arrs["scales"], 32, np.arange(K) // 32,
                                  backend=client)  # fmt: skip
    assert w.act_order and not plain.act_order
    assert not np.array_equal(plain.dequantize().numpy(), w.dequantize().numpy())
    np.testing.assert_array_equal(w.dequantize().numpy().astype(np.float64), ref)


@pytest.mark.parametrize("dtype", [boostr.f16, boostr.bf16])
@pytest.mark.parametrize("m", [3, 40])
def test_half_activations_and_batch(client, dtype, m: int) -> None:  # type: ignore[no-untyped-def]
    if dtype not in client.storage_dtypes:
        pytest.skip(f"{client.kind} does not store {dtype}")
    for fmt, gs, act in (("AWQ", 64, False), ("GPTQ", 32, True), ("NF4", 64, False)):
        w, ref = _load(client, fmt, gs, act)
        x = client.from_numpy(np.random.default_rng(m).standard_normal((2, m, K)).astype(np.float32)).to(dtype)
        got = client.quant_matmul(x, w)
        assert got.dtype is dtype and got.shape == (2, m, N)
        want = x.to(boostr.f32).numpy().astype(np.float64) @ ref.T
        assert _nmse(got.to(boostr.f32).numpy(), want) < 1e-4, fmt


def test_dequantize_half_and_to(client) -> None:  # type: ignore[no-untyped-def]
    cpu = boostr.get_client("cpu")
    for fmt, gs, act in (("AWQ", 32, False), ("GPTQ", 64, True), ("NF4", 128, False)):
        w, ref = _load(cpu, fmt, gs, act)
        moved = w.to(client)
        assert moved.client is client and moved.nbytes == w.nbytes and moved.act_order == act
        for name, arr in w.host_arrays().items():
            np.testing.assert_array_equal(moved.host_arrays()[name], arr)
        got = moved.dequantize(boostr.f16).to(boostr.f32).numpy()
        np.testing.assert_array_equal(got, ref.astype(np.float16).astype(np.float32))


def test_repr_and_bits_per_weight(client) -> None:  # type: ignore[no-untyped-def]
    w, _ = _load(client, "AWQ", 128, n=64, k=K)
    assert "AWQ" in repr(w) and "group_size=128" in repr(w)
    assert w.bits_per_weight == pytest.approx(4 + 16 / 128 + 4 / 128)
    nf, _ = _load(client, "NF4", 64, n=8, k=K)
    assert "NF4" in repr(nf) and nf.bits_per_weight == pytest.approx(4 + 32 / 64)


def test_quant_matmul_makes_no_transfers(client) -> None:  # type: ignore[no-untyped-def]
    for fmt, gs, act in (("AWQ", 64, False), ("GPTQ", 32, True), ("NF4", 64, False)):
        w, _ = _load(client, fmt, gs, act)
        xs = [client.from_numpy(np.ones((m, K), np.float32)) for m in (1, 128)]
        with client.count_transfers() as t:
            for x in xs:
                client.quant_matmul(x, w)
            w.dequantize()
        assert (t.h2d, t.d2h) == (0, 0), fmt


def test_linear_layer_takes_int4_weights(client) -> None:  # type: ignore[no-untyped-def]
    from boostr.nn import Linear

    w, ref = _load(client, "GPTQ", 64)
    x = np.random.default_rng(0).standard_normal((2, K)).astype(np.float32)
    got = Linear(w)(client.from_numpy(x)).numpy()
    assert _nmse(got, x.astype(np.float64) @ ref.T) < 1e-10


def test_bad_input_names_the_argument(client) -> None:  # type: ignore[no-untyped-def]
    a, _ = _ckpt("AWQ", 64)
    g, _ = _ckpt("GPTQ", 64)
    nf, _ = _ckpt("NF4", 64)
    qw, qz, s = a["qweight"], a["qzeros"], a["scales"]
    bad = [
        ("group_size", lambda: QuantTensor.from_awq(qw, qz, s, 96, backend=client)),  # 96 does not divide 256
        ("group_size", lambda: QuantTensor.from_awq(qw, qz, s, 0, backend=client)),
        ("scales", lambda: QuantTensor.from_awq(qw, qz, s.astype(np.float32), 64, backend=client)),
        ("scales", lambda: QuantTensor.from_awq(qw, qz, s[:2], 64, backend=client)),
        ("qzeros", lambda: QuantTensor.from_awq(qw, qz[:, :-1], s, 64, backend=client)),
        ("qzeros", lambda: QuantTensor.from_awq(qw, qz.astype(np.int64), s, 64, backend=client)),
        ("qweight", lambda: QuantTensor.from_awq(qw[:, :-1], qz, s, 64, backend=client)),
        ("qweight", lambda: QuantTensor.from_awq(qw.astype(np.float32), qz, s, 64, backend=client)),
        ("qweight", lambda: QuantTensor.from_gptq(g["qweight"][:, :5], g["qzeros"], g["scales"], 64, backend=client)),
        ("g_idx", lambda: QuantTensor.from_gptq(g["qweight"], g["qzeros"], g["scales"], 64,
                                                np.full(K, 4, np.int32), backend=client)),  # 4 groups: 0..3
        ("g_idx", lambda: QuantTensor.from_gptq(g["qweight"], g["qzeros"], g["scales"], 64,
                                                np.full(K, -1, np.int32), backend=client)),
        ("g_idx", lambda: QuantTensor.from_gptq(g["qweight"], g["qzeros"], g["scales"], 64, np.zeros(K - 1, np.int32),
                                                backend=client)),
        ("g_idx", lambda: QuantTensor.from_gptq(g["qweight"], g["qzeros"], g["scales"], 64, np.zeros(K, np.float32),
                                                backend=client)),
        ("checkpoint_format", lambda: QuantTensor.from_gptq(g["qweight"], g["qzeros"], g["scales"], 64,
                                                            backend=client, checkpoint_format="awq")),
        ("blocksize", lambda: QuantTensor.from_nf4(nf["packed"], nf["absmax"], (N, K), 48, backend=client)),
        ("shape", lambda: QuantTensor.from_nf4(nf["packed"], nf["absmax"], (N, K + 4), 64, backend=client)),
        ("absmax", lambda: QuantTensor.from_nf4(nf["packed"], nf["absmax"].astype(np.float16), (N, K), 64,
                                                backend=client)),
    ]  # fmt: skip
    for arg, call in bad:
        with pytest.raises(InvalidArgument, match=arg):
            call()
    with pytest.raises(FormatError, match="double-quantized"):
        QuantTensor.from_nf4(nf["packed"], nf["absmax"].view(np.uint8), (N, K), 64, backend=client)
    with pytest.raises(FormatError, match="packed"):
        QuantTensor.from_nf4(nf["packed"][:-1], nf["absmax"], (N, K), 64, backend=client)
    with pytest.raises(FormatError, match="absmax"):
        QuantTensor.from_nf4(nf["packed"], nf["absmax"][:-1], (N, K), 64, backend=client)
    w, _ = _load(client, "AWQ", 64)
    with pytest.raises(InvalidArgument, match="x"):
        client.quant_matmul(client.from_numpy(np.ones((2, K - 8), np.float32)), w)
    with pytest.raises(InvalidArgument, match="x"):
        client.quant_matmul(client.from_numpy(np.ones((2, K), np.int32)), w)


def test_quant_swiglu_with_int4_weights(client) -> None:  # type: ignore[no-untyped-def]
    wg, rg = _load(client, "AWQ", 64)
    wu, ru = _load(client, "GPTQ", 64, act=True)
    x = np.random.default_rng(5).standard_normal((2, K)).astype(np.float32)
    got = client.quant_swiglu(client.from_numpy(x), wg, wu).numpy()
    g, u = x.astype(np.float64) @ rg.T, x.astype(np.float64) @ ru.T
    assert _nmse(got, g / (1 + np.exp(-g)) * u) < 1e-8


def test_direct_construction_checks_buffers(client) -> None:  # type: ignore[no-untyped-def]
    from boostr.errors import UnsupportedDType

    w, _ = _load(client, "AWQ", 64)
    with pytest.raises(InvalidArgument, match="zeros"):
        Int4QuantTensor("AWQ", (N, K), w.data, w.scales, 64)
    with pytest.raises(FormatError, match="data"):
        Int4QuantTensor("AWQ", (N + 8, K), w.data, w.scales, 64, w.zeros)
    with pytest.raises(FormatError, match="4-bit"):
        Int4QuantTensor("Q4_K", (N, K), w.data, w.scales, 64, w.zeros)
    with pytest.raises(UnsupportedDType, match="AWQ"):
        client.quant_embedding(w, client.from_numpy(np.array([0, 1], np.int32)))


@pytest.mark.parametrize(("fmt", "gs"), [("NF4", 32), ("AWQ", -1), ("GPTQ", -1), ("GPTQ", 8)])
def test_short_k_not_a_multiple_of_32(client, fmt: str, gs: int) -> None:  # type: ignore[no-untyped-def]
    """K = 40 (5 chunks of 8): the tiled kernels' last K step is partial."""
    w, ref = _load(client, fmt, gs, n=11, k=40)
    np.testing.assert_array_equal(w.dequantize().numpy().astype(np.float64), ref)
    for m in (3, 70):
        x = np.random.default_rng(m).standard_normal((m, 40)).astype(np.float32)
        got = client.quant_matmul(client.from_numpy(x), w).numpy()
        assert _nmse(got, x.astype(np.float64) @ ref.T) < 1e-10, (fmt, m)
