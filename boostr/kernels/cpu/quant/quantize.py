"""Quantize f32 rows into GGML blocks on the CPU: the registry over the per-family quantizers.

Each ``quantize_*`` module has ``CODES`` (format -> code), a parallel ``quantize(code, x, nblk,
bb, be, out, aux)`` kernel and ``prepare(code, x, be)``, which computes per-block inputs that
must match numpy bit for bit (MXFP4's ``floor(log2(amax))``) or returns an empty array.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ....quant.formats import FORMATS
from . import quantize_kquants, quantize_legacy, quantize_other

_ENCODERS: dict[str, tuple[ModuleType, int]] = {
    name: (mod, code) for mod in (quantize_legacy, quantize_kquants, quantize_other) for name, code in mod.CODES.items()
}
QUANTIZABLE = tuple(_ENCODERS)


def can_quantize(name: str) -> bool:
    return name in _ENCODERS


def quantize_rows(name: str, x: np.ndarray, out: np.ndarray) -> None:
    """Quantize contiguous f32 ``x [R, K]`` into the flat uint8 block buffer ``out``."""
    mod, code = _ENCODERS[name]
    fmt = FORMATS[name]
    be, bb = fmt.block_elems, fmt.block_bytes
    flat = x.reshape(-1)
    nblk = flat.size // be
    if nblk:
        mod.quantize(code, flat, nblk, bb, be, out, mod.prepare(code, flat, be))
