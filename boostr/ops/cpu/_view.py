"""numpy views of CPU tensors and the f32 staging used for half types.

``np_view`` is on every op's hot path, so it avoids ``as_strided`` (several us):
a row-major contiguous tensor is a slice + reshape of its flat storage, anything
else (transposed, offset, broadcast with stride 0) goes through the ``np.ndarray``
constructor over the same buffer. Both alias the storage; neither copies.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ...tensor import Tensor, contiguous_strides

_cstrides = lru_cache(maxsize=1024)(contiguous_strides)


def np_view(x: Tensor) -> np.ndarray:
    """A numpy view of ``x`` (no copy): shape, element strides and offset applied."""
    base = x._storage
    shape = x.shape
    strides = x.strides
    if strides == _cstrides(shape):
        numel = 1
        for n in shape:
            numel *= n
        off = x.offset
        if off == 0 and numel == base.shape[0]:
            return base.reshape(shape)
        return base[off : off + numel].reshape(shape)
    isz = base.itemsize
    byte_strides = tuple([s * isz for s in strides])
    try:
        return np.ndarray(shape, base.dtype, base, x.offset * isz, byte_strides)
    except ValueError:  # an empty view whose offset/strides reach past the buffer
        return np.lib.stride_tricks.as_strided(base[x.offset :], shape=shape, strides=byte_strides, writeable=True)


def compute_view(x: Tensor) -> np.ndarray:
    """``x`` as numpy for computing: half and fp8 types are widened to f32."""
    v = np_view(x)
    return v.astype(np.float32) if x.dtype.is_half else v


def store(out: Tensor, value: np.ndarray) -> None:
    """Write ``value`` into ``out`` (rounding to out's dtype)."""
    np.copyto(np_view(out), value, casting="unsafe")
