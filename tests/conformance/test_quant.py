"""Quantized ops on every backend: each runs the formats it declares and refuses the others.

A backend's ``quant_formats(op)`` capability (see ``test_quant_data.backend_formats``) lists
the formats it has kernels for; any other format must raise UnsupportedDType naming the op
and the format (never fall back to the host). This file shows that in the conformance matrix.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_quant_data import backend_formats, random_blocks

from boostr.errors import InvalidArgument, UnsupportedDType
from boostr.quant import FORMATS, QuantTensor


@pytest.mark.parametrize("name", ["Q4_0", "Q4_K", "IQ4_XS", "MXFP4", "Q8_0"])
def test_quant_ops_run_or_refuse(client, name: str) -> None:  # type: ignore[no-untyped-def]
    raw = random_blocks(name, 4, 256)
    x = client.from_numpy(np.ones((2, 256), np.float32))
    qt = QuantTensor.from_raw(raw, name, (4, 256), backend=client)
    np.testing.assert_array_equal(qt.raw(), raw.reshape(-1))
    calls = {
        "dequantize": (lambda: client.dequantize(qt), lambda r: r.shape == (4, 256)),
        "quant_matmul": (lambda: client.quant_matmul(x, qt), lambda r: r.shape == (2, 4)),
        "quantize": (lambda: client.quantize(x, name), lambda r: r.format == name and r.shape == (2, 256)),
    }
    for op, (call, check) in calls.items():
        if name in backend_formats(client, op):
            assert check(call()), op
        else:
            with pytest.raises(UnsupportedDType, match=name):
                call()


def test_quant_formats_capability(client) -> None:  # type: ignore[no-untyped-def]
    for op in ("dequantize", "quant_matmul", "quantize"):
        caps = client.quant_formats(op)
        assert isinstance(caps, frozenset) and caps <= set(FORMATS), op
    with pytest.raises(InvalidArgument):
        client.quant_formats("matmul")


@pytest.mark.parametrize("name", ["Q8_0", "MXFP4", "Q6_K"])
def test_quant_tensor_moves_between_backends(client, other, name: str) -> None:  # type: ignore[no-untyped-def]
    k = 2 * FORMATS[name].block_elems
    raw = random_blocks(name, 3, k)
    qt = QuantTensor.from_raw(raw, name, (3, k), backend=client)
    moved = qt.to(other)
    assert moved.client is other and moved.nbytes == raw.size == qt.nbytes
    np.testing.assert_array_equal(moved.raw(), raw.reshape(-1))
    np.testing.assert_array_equal(QuantTensor.from_raw(moved.data, name, (3, k), backend=client).raw(), raw.reshape(-1))


def test_quant_ops_make_no_transfers(client) -> None:  # type: ignore[no-untyped-def]
    """After a first call (WebGPU uploads its 34 KB IQ lookup table once per client), quantized ops
    stay on the device: no host<->device transfer inside dequantize / quant_matmul / quantize."""
    raw = random_blocks("IQ2_XS", 4, 256)
    qt = QuantTensor.from_raw(raw, "IQ2_XS", (4, 256), backend=client)
    x = client.from_numpy(np.ones((2, 256), np.float32))
    ops = [("dequantize", "IQ2_XS", lambda: client.dequantize(qt)),
           ("quant_matmul", "IQ2_XS", lambda: client.quant_matmul(x, qt)),
           ("quantize", "Q8_0", lambda: client.quantize(x, "Q8_0"))]  # fmt: skip
    for op, name, call in ops:
        if name not in backend_formats(client, op):
            continue
        call()
        with client.count_transfers() as t:
            call()
        assert t.total == 0, f"{op} made {t.h2d} uploads and {t.d2h} downloads"
