"""Lookup tables of the IQ and FP4 formats, read from gguf-py at import time (never retyped).

- ``GRIDS[name]``: the f32 codebook of an IQ format (``iq2xxs_grid`` ... ``iq1s_grid`` of
  llama.cpp ``ggml-common.h``), decoded from ``gguf.quants.<FMT>.grid_hex``/``grid_map``;
- ``KSIGNS``: ``ksigns_iq2xs`` (7-bit sign index -> 8 sign bits with even parity);
- ``KVALUES_IQ4NL`` / ``KVALUES_MXFP4``: the 16 non-linear levels (MXFP4's are doubled e2m1).
"""

from __future__ import annotations

import numpy as np
from gguf import quants as _gq

GRID_FORMATS = ("IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ1_S", "IQ1_M")


def _grid(name: str) -> np.ndarray:
    cls = getattr(_gq, name)
    cls.init_grid()
    return np.ascontiguousarray(np.asarray(cls.grid, dtype=np.float32).reshape(cls.grid_shape))


GRIDS: dict[str, np.ndarray] = {name: _grid(name) for name in GRID_FORMATS}
KSIGNS = np.frombuffer(_gq.IQ2_XXS.ksigns, dtype=np.uint8).copy()
KVALUES_IQ4NL = np.array(_gq.IQ4_NL.kvalues, dtype=np.float32)
KVALUES_IQ4NL_I8 = np.array(_gq.IQ4_NL.kvalues, dtype=np.int8)
KVALUES_MXFP4 = np.array(_gq.MXFP4.kvalues, dtype=np.float32)
DELTA_IQ1 = np.float32(_gq.IQ1_S.delta)
NO_GRID = np.zeros((1, 1), dtype=np.float32)
