"""KV-cache quantization (fp8_e4m3, int8, int4) vs float64 references and the f32 formula.

Every backend stores the compact forms (fp8 / i8 one byte per element, int4 two codes per u8 byte);
the codes must equal the generic composite's, which equal an f32 numpy evaluation of the formulas
of ``boostr/ops/generic/kv_cache_quant.py`` (IEEE f32 division, rint half to even) bit for bit.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from boostr import dtype as _dt
from boostr.errors import InvalidArgument, UnsupportedDType
from boostr.ops.generic import kv_cache_quant as genq
from boostr.testing.attention_refs import kv_quant_ref
from boostr.testing.tolerances import assert_close, assert_equal

_DATA_DT = {"fp8_e4m3": _dt.fp8_e4m3, "int8": _dt.i8, "int4": _dt.u8}
F32 = np.float32


def _f32_formula(x: np.ndarray, fmt: str, group: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The generic composite evaluated in numpy f32 (what the CPU computes): (data, scale, zero)."""
    x = x.astype(F32)
    if fmt == "int8":
        scale = np.abs(x).max(-1, keepdims=True) / F32(127.0)
        scale[scale == 0] = F32(1.0)
        data = np.clip(np.rint(x / scale), F32(-127.0), F32(127.0)).astype(np.int8)
        return data, scale[..., 0], None
    xg = x.reshape(*x.shape[:-1], -1, group)
    mn = xg.min(-1, keepdims=True)
    scale = (xg.max(-1, keepdims=True) - mn) / F32(15.0)
    scale[scale == 0] = F32(1.0)
    q = np.clip(np.rint((xg - mn) / scale), F32(0.0), F32(15.0)).reshape(*x.shape[:-1], -1, 2)
    data = (q[..., 0] + q[..., 1] * F32(16.0)).astype(np.uint8)
    return data, scale[..., 0].reshape(*x.shape[:-1], -1), mn[..., 0].reshape(*x.shape[:-1], -1)


@pytest.mark.parametrize(("fmt", "group"), [("fp8_e4m3", 0), ("int8", 0), ("int4", 32), ("int4", 64), ("int4", 128)])
def test_kv_quant(client, fmt, group):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((2, 3, 5, 128)) * rng.uniform(0.1, 4.0, (2, 3, 5, 1))).astype(np.float32)
    x[0, 0, 0] = 0.0  # an all-zero row: scale 1
    xt = client.from_numpy(x)
    if _DATA_DT[fmt] not in client.storage_dtypes:  # a backend without the compact dtype must say so
        with pytest.raises(UnsupportedDType):
            client.quantize_kv(xt, fmt, group_size=group or 64)
        return
    data, scale, zero = client.quantize_kv(xt, fmt, group_size=group or 64)
    codes, s_ref, z_ref = kv_quant_ref(x, fmt, group or 64)
    assert_close(scale.numpy(), s_ref, _dt.f32, client.device_name)
    back = client.dequantize_kv(data, scale, zero, fmt, group_size=group or 64).numpy().astype(np.float64)
    if fmt == "fp8_e4m3":
        assert data.dtype is _dt.fp8_e4m3 and data.shape == x.shape
        step = np.maximum(np.abs(x) / 16.0, s_ref[..., None] * 2.0**-9)  # e4m3: 3 mantissa bits
        assert np.all(np.abs(back - x) <= step * 1.0001)
        return
    if fmt == "int8":
        assert data.dtype is _dt.i8 and data.shape == x.shape
        got = data.numpy().astype(np.float64)
        bound = s_ref[..., None] * 0.5
    else:
        assert data.dtype is _dt.u8 and data.shape == (2, 3, 5, 64)
        assert zero is not None
        assert_close(zero.numpy(), z_ref, _dt.f32, client.device_name)
        packed = data.numpy().astype(np.int64)
        got = np.stack([packed & 15, packed >> 4], -1).reshape(x.shape).astype(np.float64)
        bound = np.repeat(s_ref, group, -1) * 0.5
    assert np.abs(got - codes).max() <= 1  # only f32-vs-f64 rounding ties may differ
    assert np.all(np.abs(back - x) <= bound * 1.0001 + 1e-6)
    gd, gs, gz = genq.quantize(client, client.from_numpy(x), fmt, group)
    assert_equal(data.numpy(), gd.numpy(), "fused vs generic data")
    gback = genq.dequantize(client, gd, gs, gz, fmt, group, _dt.f32)
    assert_close(back, gback.numpy(), _dt.f32, client.device_name)


def _adversarial(rng: np.random.Generator, rows: int, d: int, group: int) -> np.ndarray:
    """Rows with exact rounding ties for both formats, zero rows and groups, and random magnitudes."""
    x = (rng.standard_normal((rows, d)) * 10.0 ** rng.integers(-3, 3, (rows, 1))).astype(np.float32)
    # int8: amax 127 gives scale 1, so x / scale = k + 0.5 exactly (rint ties to even, both signs)
    x[0] = np.resize(np.array([127.0, 2.5, -3.5, 0.5, -0.5, 126.5, -126.5, 1.5], np.float32), d)
    x[1] = 0.0
    # int4: each group spans [0, 15] (scale 1, zero 0) with ties at k + 0.5
    x[2] = np.resize(np.array([0.0, 15.0, 7.5, 8.5, 0.5, 14.5, 2.5, 3.5], np.float32), d)
    x[3, :group] = 3.25  # a constant group: scale 1, every code 0
    return x


@pytest.mark.parametrize("dt", [_dt.f32, _dt.f16, _dt.bf16], ids=str)
@pytest.mark.parametrize(("fmt", "group", "d"), [("int8", 0, 64), ("int8", 0, 7), ("int8", 0, 130),
                                                 ("int4", 32, 96), ("int4", 64, 128), ("int4", 128, 256)])  # fmt: skip
def test_kv_quant_int_matches_f32_formula_bitwise(client, dt, fmt, group, d):  # type: ignore[no-untyped-def]
    """int8 / int4 codes equal the f32 numpy formula byte for byte (ties, zero rows, odd D for int8);
    scales and zeros agree within one f32 rounding; dequantization matches the generic composite."""
    if dt not in client.compute_dtypes:
        pytest.skip(f"{dt} not offered by {client.device_name}")
    rng = np.random.default_rng(21)
    x = _adversarial(rng, 9, d, group or 32).astype(dt.np_dtype)
    xt = client.from_numpy(x, dt)
    data, scale, zero = client.quantize_kv(xt, fmt, group_size=group or 64)
    want, ws, wz = _f32_formula(x.astype(np.float32), fmt, group)
    assert data.dtype is _DATA_DT[fmt] and data.shape == want.shape
    assert_equal(data.numpy(), want, f"{fmt} codes vs the f32 formula")
    np.testing.assert_allclose(scale.numpy(), ws, rtol=2.0**-23, atol=0)
    if zero is not None:
        assert wz is not None
        assert_equal(zero.numpy(), wz, "int4 zero points (the group minimum, exact)")
    # through a non-contiguous, offset view of a larger tensor: same codes
    big = np.zeros((9, d + 3), dt.np_dtype)
    big[:, 1 : d + 1] = x
    view = client.from_numpy(big, dt)[:, 1 : d + 1]
    vd, _, _ = client.quantize_kv(view, fmt, group_size=group or 64)
    assert_equal(vd.numpy(), want, f"{fmt} codes of an offset view")
    out_dt = dt if fmt == "int8" or dt is _dt.f32 else _dt.f32
    back = client.dequantize_kv(data, scale, zero, fmt, group_size=group or 64, dtype=out_dt)
    gback = genq.dequantize(client, data, scale, zero, fmt, group, out_dt)
    assert back.dtype is out_dt and back.shape == x.shape
    if fmt == "int8":  # one product per element: bit for bit
        assert_equal(back.numpy(), gback.numpy(), "fused vs generic int8 dequant")
        ref = (want.astype(np.float32) * ws[..., None]).astype(ml_dtypes.bfloat16 if dt is _dt.bf16 else dt.np_dtype)
        assert_equal(back.numpy(), ref, "int8 dequant vs the f32 formula")
    else:  # product then sum: a driver may contract them into one fma (1 ulp)
        assert_close(back.numpy(), gback.numpy(), _dt.f32, client.device_name)


def test_kv_quant_bad_inputs(client):  # type: ignore[no-untyped-def]
    x = client.zeros(2, 64)
    with pytest.raises(InvalidArgument, match="fmt"):
        client.quantize_kv(x, "int2")
    with pytest.raises(InvalidArgument, match="group_size"):
        client.quantize_kv(x, "int4", group_size=16)
    with pytest.raises(InvalidArgument, match="'x'"):
        client.quantize_kv(client.zeros(2, 96), "int4", group_size=64)
    if _dt.u8 not in client.storage_dtypes:
        pytest.skip(f"{client.device_name} does not store u8 (int4 codes)")
    data, scale, zero = client.quantize_kv(x, "int4", group_size=32)
    with pytest.raises(InvalidArgument, match="zero"):
        client.dequantize_kv(data, scale, None, "int4", group_size=32)
    with pytest.raises(InvalidArgument, match="scale"):
        client.dequantize_kv(data, scale, zero, "int4", group_size=64)
    with pytest.raises(InvalidArgument, match="data"):
        client.dequantize_kv(client.cast(data, _dt.i32), scale, zero, "int4", group_size=32)


@pytest.mark.parametrize("dt", [_dt.f32, _dt.f16], ids=str)
def test_kv_quant_fp8_matches_generic_bitwise(client, dt):  # type: ignore[no-untyped-def]
    """fp8 e4m3 codes of the fused kernel equal the generic composite's byte for byte (ties, subnormals, 448)."""
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((3, 4, 64)) * 10.0 ** rng.integers(-3, 3, (3, 4, 1))).astype(np.float32)
    x[0, 0, :8] = [448.0, -0.0, 0.0, 1e-9, -3e-3, 2.0**-9 * 448.0, 2.0**-8 * 448.0 * 1.5, 300.0]
    x[0, 1] = 0.0
    if dt not in client.compute_dtypes:
        pytest.skip(f"{dt} not offered by {client.device_name}")
    xt = client.from_numpy(x, dt)
    data, scale, _ = client.quantize_kv(xt, "fp8_e4m3")
    gd, gs, _ = genq.quantize(client, xt, "fp8_e4m3", 0)
    assert_equal(data.numpy().view(np.uint8), gd.numpy().view(np.uint8), "fused vs generic fp8 codes")
    assert_equal(scale.numpy(), gs.numpy(), "fused vs generic scales")
    back = client.dequantize_kv(data, scale, None, "fp8_e4m3", dtype=dt)
    gback = genq.dequantize(client, gd, gs, None, "fp8_e4m3", 0, dt)
    assert back.dtype is dt
    assert_equal(back.numpy(), gback.numpy(), "fused vs generic dequant")
