"""numpy views of CPU tensors and the f32 staging used for half types."""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor


def np_view(x: Tensor) -> np.ndarray:
    """A numpy view of ``x`` (no copy): shape, element strides and offset applied."""
    base = x.storage
    isz = base.itemsize
    return np.lib.stride_tricks.as_strided(
        base[x.offset :], shape=x.shape, strides=tuple(s * isz for s in x.strides), writeable=True
    )


def compute_view(x: Tensor) -> np.ndarray:
    """``x`` as numpy for computing: half and fp8 types are widened to f32."""
    v = np_view(x)
    return v.astype(np.float32) if x.dtype.is_half else v


def store(out: Tensor, value: np.ndarray) -> None:
    """Write ``value`` into ``out`` (rounding to out's dtype)."""
    np.copyto(np_view(out), value, casting="unsafe")
