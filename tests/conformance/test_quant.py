"""Quantized ops on every backend: the CPU runs them, other backends refuse with a typed error.

A backend without its own quantization kernels must raise UnsupportedDType naming the op
and the format (never fall back to the host); this file shows that in the conformance matrix.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_quant_data import random_blocks

from boostr.errors import UnsupportedDType
from boostr.quant import QuantTensor


@pytest.mark.parametrize("name", ["Q4_0", "Q4_K", "IQ4_XS", "MXFP4"])
def test_quant_ops_run_or_refuse(client, name: str) -> None:  # type: ignore[no-untyped-def]
    raw = random_blocks(name, 4, 256)
    x = client.from_numpy(np.ones((2, 256), np.float32))
    try:
        qt = QuantTensor.from_raw(raw, name, (4, 256), backend=client)
    except UnsupportedDType:  # the backend cannot even store u8 bytes
        return
    if client.kind == "cpu":
        assert client.dequantize(qt).shape == (4, 256)
        assert client.quant_matmul(x, qt).shape == (2, 4)
        assert client.quantize(x, name).format == name
        return
    for call in (lambda: client.dequantize(qt), lambda: client.quant_matmul(x, qt), lambda: client.quantize(x, name)):
        with pytest.raises(UnsupportedDType, match=name):
            call()
