"""The CUDA host path with its launch plans, driven by the fake CuPy of benchmarks/host_overhead.py.

Every test records the launches (entry point, grid, block, shared bytes, raw parameter slots) and
checks that a plan remembered for one (op, dtype, shape, layout) is not reused where any of them
changes: another dtype, another shape, a non-contiguous view, a view with an offset (pointer and
alignment), a broadcast. Validation must fire on the hot path exactly as on the first call.
"""

from __future__ import annotations

import importlib.util
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from boostr.errors import InvalidArgument, UnsupportedDType
from boostr.runtime.hooks import BINARY_OPS, REDUCE_OPS

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "host_overhead.py"


def _harness() -> Any:
    spec = importlib.util.spec_from_file_location("boostr_host_overhead", _PATH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def stub() -> Iterator[tuple[Any, Any]]:
    client, driver, restore = _harness().make_stub_cuda_client(record=True)
    try:
        yield client, driver
    finally:
        restore()


def _ptr(t: Any) -> int:
    return int(t.storage.data.ptr + t.offset * t.dtype.itemsize)


def _f64(raw: int) -> float:
    return float(struct.unpack("<d", struct.pack("<q", raw))[0])


def _one(driver: Any) -> dict[str, Any]:
    """The single launch since the last call (and forget it)."""
    assert len(driver.launches) == 1, [x["entry"] for x in driver.launches]
    return driver.launches.pop()


def _t(g: Any, shape: tuple[int, ...], dtype: str = "f32") -> Any:
    return g.from_numpy(np.zeros(shape, dtype=np.float32)).cast(dtype)


def test_binary_plan_follows_dtype_shape_offset_and_layout(stub: tuple[Any, Any]) -> None:
    g, drv = stub
    a, b = _t(g, (1024,)), _t(g, (1024,))
    drv.launches.clear()
    for _ in range(2):  # first call validates and stores the plan, the second takes the hot path
        out = g.add(a, b)
        k = _one(drv)
        assert k["entry"] == "binary_contig_f32" and k["grid"] == (4, 1, 1) and k["block"] == (256, 1, 1)
        assert k["raw"][:3] == [_ptr(out), _ptr(a), _ptr(b)]
        assert k["raw"][5:8] == [0, 1024, BINARY_OPS.index("add")]
        assert out.shape == (1024,) and out.dtype.name == "f32" and out.is_contiguous()
    # another dtype: another kernel
    h1, h2 = _t(g, (1024,), "f16"), _t(g, (1024,), "f16")
    drv.launches.clear()
    out = g.mul(h1, h2)
    k = _one(drv)
    assert k["entry"] == "binary_contig_f16" and k["raw"][7] == BINARY_OPS.index("mul") and out.dtype.name == "f16"
    # another shape: n and the grid follow
    big_a, big_b = _t(g, (3, 1000)), _t(g, (3, 1000))
    drv.launches.clear()
    out = g.add(big_a, big_b)
    k = _one(drv)
    assert k["raw"][6] == 3000 and k["grid"] == (12, 1, 1) and out.shape == (3, 1000)
    # a view with an offset: the pointer is storage + offset
    base = _t(g, (2048,))
    view = base[5:1029]
    assert view.offset == 5
    drv.launches.clear()
    g.add(view, b)
    assert _one(drv)["raw"][1] == _ptr(base) + 5 * 4
    # a non-contiguous operand of the same shape and dtype: the strided kernel
    m = _t(g, (32, 32))
    drv.launches.clear()
    out = g.add(m.T, m)
    k = _one(drv)
    assert k["entry"] == "binary_strided_f32" and out.shape == (32, 32) and out.is_contiguous()


def test_binary_plan_broadcast_promotion_and_scalars(stub: tuple[Any, Any]) -> None:
    g, drv = stub
    col, row = _t(g, (4, 1)), _t(g, (1, 3))
    g.add(_t(g, (4, 3)), _t(g, (4, 3)))  # a plan for (add, f32, f32)
    drv.launches.clear()
    out = g.add(col, row)  # same dtypes, broadcast shapes: still broadcast
    assert out.shape == (4, 3) and _one(drv)["entry"] == "binary_strided_f32"
    # mixed dtypes promote (a cast launch first), on the first and on the hot path
    x16, x32 = _t(g, (8,), "f16"), _t(g, (8,))
    for _ in range(2):
        drv.launches.clear()
        out = g.add(x16, x32)
        assert out.dtype.name == "f32"
        assert [k["entry"] for k in drv.launches] == ["cast_contig_f16_f32", "binary_contig_f32"]
    # a Python scalar: mode 1 (tensor op scalar) or 2 (scalar op tensor), value as double
    for _ in range(2):
        drv.launches.clear()
        g.sub(x32, 2.5)
        k = _one(drv)
        assert k["raw"][2] == 0 and _f64(k["raw"][3]) == 2.5 and k["raw"][5] == 1
        g.sub(2.5, x32)
        assert _one(drv)["raw"][5] == 2
    # int tensor + float scalar -> f32; + int scalar keeps i32
    i32 = g.from_numpy(np.zeros(8, dtype=np.int32))
    for _ in range(2):
        assert g.add(i32, 1.5).dtype.name == "f32"
        assert g.add(i32, 1).dtype.name == "i32"
        assert g.lt(i32, 1).dtype.name == "bool"


def test_binary_hot_path_keeps_every_error(stub: tuple[Any, Any]) -> None:
    g, _ = stub
    a, b = _t(g, (4, 3)), _t(g, (4, 3))
    i32 = g.from_numpy(np.zeros(8, dtype=np.int32))
    g.add(a, b)
    g.pow(i32, 2)
    with pytest.raises(InvalidArgument) as e:
        g.add(a, _t(g, (5, 3)))
    assert e.value.arg == "b" and "do not broadcast" in str(e.value)
    with pytest.raises(InvalidArgument) as e:
        g.pow(i32, -1)  # the (pow, i32, int) plan exists; the exponent is still checked
    assert e.value.arg == "b"
    with pytest.raises(InvalidArgument) as e:
        g.add(a, np.float32(1.0).tobytes())
    assert e.value.arg == "b"
    with pytest.raises(InvalidArgument) as e:
        g.binary("nope", a, b)
    assert e.value.arg == "op"
    fp8 = _t(g, (4, 3), "fp8_e4m3")
    with pytest.raises(UnsupportedDType):
        g.add(fp8, fp8)


def test_reduce_plan_follows_dtype_shape_dim_offset_and_layout(stub: tuple[Any, Any]) -> None:
    g, drv = stub
    x = _t(g, (1024,))
    drv.launches.clear()
    for _ in range(2):
        out = g.sum(x)
        k = _one(drv)
        assert k["entry"] == "reduce_rows_f32" and k["grid"] == (1, 1, 1) and k["block"] == (256, 1, 1)
        assert k["raw"][:8] == [_ptr(x), _ptr(out), 0, 0, 1024, 1024, 1, REDUCE_OPS.index("sum")]
        assert out.shape == () and out.dtype.name == "f32"
    m = _t(g, (8, 96))
    for keepdim, shape in ((False, (8,)), (True, (8, 1)), (False, (8,))):
        drv.launches.clear()
        out = g.max(m, dim=-1, keepdim=keepdim)
        k = _one(drv)
        assert out.shape == shape and k["grid"] == (8, 1, 1) and k["block"] == (128, 1, 1)
        assert k["raw"][4] == 96 and k["raw"][7] == REDUCE_OPS.index("max")
    # same dtype and shape, other dim: rows move (a copy) and the output shape follows
    drv.launches.clear()
    out = g.sum(m, dim=0)
    assert out.shape == (96,) and [k["entry"] for k in drv.launches] == ["copy_strided_b4", "reduce_rows_f32"]
    assert drv.launches[-1]["grid"] == (96, 1, 1) and drv.launches[-1]["raw"][4] == 8
    # a view with an offset: the pointer follows
    base = _t(g, (9, 96))
    view = base[1:]
    drv.launches.clear()
    g.max(view, dim=-1)
    assert _one(drv)["raw"][0] == _ptr(base) + 96 * 4
    # a non-contiguous view of the planned shape and dtype: copied first, then reduced
    wide = _t(g, (8, 192))
    drv.launches.clear()
    out = g.max(wide[:, ::2], dim=-1)
    assert out.shape == (8,) and [k["entry"] for k in drv.launches] == ["copy_strided_b4", "reduce_rows_f32"]
    # integer sums accumulate in i64 (a cast first), also on the hot path
    i32 = g.from_numpy(np.zeros((4, 5), dtype=np.int32))
    for _ in range(2):
        drv.launches.clear()
        out = g.sum(i32, dim=1)
        assert out.dtype.name == "i64" and out.shape == (4,)
        assert [k["entry"] for k in drv.launches] == ["cast_contig_i32_i64", "reduce_rows_i64"]
    with pytest.raises(InvalidArgument) as e:
        g.sum(m, dim=True)  # a bool dim is refused even though (sum, f32, (8, 96), 1) may be planned
    assert e.value.arg == "dim"
    with pytest.raises(InvalidArgument):
        g.sum(m, dim=2)


def test_norm_plan_follows_alignment_width_and_dtype(stub: tuple[Any, Any]) -> None:
    g, drv = stub
    x = _t(g, (4, 256), "bf16")
    drv.launches.clear()
    for _ in range(2):
        out = g.rms_norm(x, None, 1e-6)
        k = _one(drv)
        assert k["entry"] == "rms_norm_rows_bf16" and k["grid"] == (4, 1, 1) and k["block"] == (32, 1, 1)
        assert k["raw"][:4] == [_ptr(out), _ptr(x), 0, 256] and _f64(k["raw"][4]) == 1e-6
        assert k["raw"][5:7] == [1, 1] and k["smem"] == 256 * 4  # row cached, 16-byte vectors
        assert out.shape == (4, 256) and out.dtype.name == "bf16"
    # a 2-byte offset: same dtype and width, no 16-byte vectors
    flat = _t(g, (4 * 256 + 1,), "bf16")
    odd = flat[1:].reshape(4, 256)
    drv.launches.clear()
    g.rms_norm(odd, None, 1e-6)
    k = _one(drv)
    assert k["raw"][1] == _ptr(flat) + 2 and k["raw"][6] == 0 and k["block"] == (256, 1, 1)
    # another width and dtype, with a weight
    y = _t(g, (2, 3, 100))
    w = _t(g, (100,))
    drv.launches.clear()
    out = g.rms_norm(y, w, 1e-5)
    k = _one(drv)
    assert k["entry"] == "rms_norm_rows_f32" and k["grid"] == (6, 1, 1) and k["raw"][2] == _ptr(w)
    assert k["raw"][3] == 100 and k["raw"][6] == 1 and out.shape == (2, 3, 100)
    drv.launches.clear()
    out, summed = g.add_rms_norm(y, y, w, 1e-5)
    assert _one(drv)["entry"] == "add_rms_norm_rows_f32" and out.shape == summed.shape == (2, 3, 100)
    with pytest.raises(InvalidArgument) as e:
        g.rms_norm(y, _t(g, (99,)), 1e-5)
    assert e.value.arg == "weight"
    with pytest.raises(InvalidArgument) as e:
        g.rms_norm(y, w, -1.0)
    assert e.value.arg == "eps"
    with pytest.raises(InvalidArgument) as e:
        g.rms_norm(g.from_numpy(np.zeros((2, 4), dtype=np.int32)), None, 1e-5)
    assert e.value.arg == "x"


def test_packed_launch_fills_the_slots_like_launch(stub: tuple[Any, Any]) -> None:
    """``packed_launch`` (one struct.pack_into) and ``launch`` (per-argument packing) give the driver
    the same parameter bytes; a value out of int64 range falls back to ``launch``'s own error."""
    from boostr.runtime.cuda import kernels as kmod

    g, drv = stub
    fn = g.kernels.function("cuda/elementwise/binary.cu", "binary_contig_f32", (("T", "float"), ("N", "f32"),
                                                                               ("ISF", 1)))  # fmt: skip
    values = (1 << 40, (1 << 40) + 64, 0, -2.75, -(2**40), 2, 1024, 3)
    kmod.launch(fn, 4, 256, list(values))
    kmod.packed_launch(fn, 4, 256, 0, kmod.signature("pppfiiii"), values)
    generic, packed = drv.launches[-2], drv.launches[-1]
    assert generic == packed and _f64(packed["raw"][3]) == -2.75 and packed["raw"][4] == -(2**40)
    with pytest.raises(OverflowError):
        kmod.packed_launch(fn, 4, 256, 0, kmod.signature("pppfiiii"), (1 << 64, 0, 0, 0.0, 0, 0, 1, 0))
    with pytest.raises(ValueError):
        kmod.signature("ppx")
