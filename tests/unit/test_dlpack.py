"""DLPack on the CPU backend: zero-copy export/import of native dtypes, clean refusal otherwise."""

from __future__ import annotations

import numpy as np
import pytest

import boostr


def test_cpu_dlpack_round_trip() -> None:
    t = boostr.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3), backend="cpu")
    arr = np.from_dlpack(t)
    assert arr.tolist() == [[0, 1, 2], [3, 4, 5]]
    back = boostr.from_dlpack(np.arange(4, dtype=np.int32), backend="cpu")
    assert back.dtype is boostr.i32 and back.tolist() == [0, 1, 2, 3]


def test_cpu_dlpack_refuses_types_numpy_cannot_export() -> None:
    t = boostr.ones(3, dtype="bf16", backend="cpu")
    with pytest.raises(NotImplementedError, match="DLPack"):
        t.__dlpack__()
