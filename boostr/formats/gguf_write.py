"""GGUF writing through gguf-py's GGUFWriter, streamed tensor by tensor.

``write_gguf(path, arch, metadata, tensors)`` writes the key-values and tensors in order.
Each tensor is a ``GGUFTensor``: a name, a GGML type name, the logical shape (numpy order)
and either the array itself or a ``make()`` callable producing it when its turn comes
(so a multi-GB synthetic model never sits in memory at once). Arrays are float/int for
F32/F16/BF16/F64/I* types, uint8 block bytes ``[rows, row_bytes]`` for quantized types.
Python metadata values map to GGUF types: bool -> BOOL, int -> UINT32 (INT32 if negative,
UINT64/INT64 when wide), float -> FLOAT32, str -> STRING, lists -> ARRAY.
``boostr.models.save_gguf(model, path)`` writes a loaded model with it (conversion, checkpoints).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FormatError
from ..quant.formats import FORMATS


@dataclass
class GGUFTensor:
    """One tensor to write: ``data`` now, or ``make()`` later (exactly one of them)."""

    name: str
    type_name: str
    shape: Sequence[int]
    data: np.ndarray | None = None
    make: Callable[[], np.ndarray] | None = None

    def array(self) -> np.ndarray:
        arr = self.data if self.data is not None else self.make() if self.make is not None else None
        if arr is None:
            raise FormatError(f"GGUF tensor {self.name!r} has neither data nor make()")
        return arr

    def nbytes(self) -> int:
        from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

        block, size = GGML_QUANT_SIZES[GGMLQuantizationType[self.type_name]]
        n = int(np.prod(self.shape))
        return n // block * size


def _value_type(v: Any) -> Any:
    from gguf import GGUFValueType as T

    if isinstance(v, bool):
        return T.BOOL
    if isinstance(v, (int, np.integer)):
        v = int(v)
        if 0 <= v < 1 << 32:
            return T.UINT32
        if -(1 << 31) <= v < 0:
            return T.INT32
        return T.UINT64 if v > 0 else T.INT64
    if isinstance(v, (float, np.floating)):
        return T.FLOAT32
    if isinstance(v, str):
        return T.STRING
    raise FormatError(f"cannot write a GGUF value of type {type(v).__name__}")


def _add_kv(writer: Any, key: str, value: Any) -> None:
    from gguf import GGUFValueType as T

    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value.tolist() if isinstance(value, np.ndarray) else value)
        sub = _value_type(items[0]) if items else T.INT32
        if sub in (T.UINT32, T.INT32, T.UINT64, T.INT64):
            lo, hi = (min(items), max(items)) if items else (0, 0)
            sub = T.INT32 if -(1 << 31) <= lo and hi < 1 << 31 else T.INT64
        writer.add_key_value(key, items, T.ARRAY, sub_type=sub)
    else:
        writer.add_key_value(key, value, _value_type(value))


def write_gguf(
    path: str | os.PathLike[str], arch: str, metadata: dict[str, Any], tensors: Iterable[GGUFTensor],
    progress: bool = False,
) -> None:  # fmt: skip
    """Write a GGUF file (see the module doc); ``general.architecture`` is ``arch``."""
    from gguf import GGMLQuantizationType, GGUFWriter

    specs = list(tensors)
    writer = GGUFWriter(os.fspath(path), arch)
    try:
        for key, value in metadata.items():
            if key != "general.architecture":
                _add_kv(writer, key, value)
        for t in specs:
            if t.type_name not in FORMATS and t.type_name not in ("F32", "F16", "BF16", "F64", "I8", "I16", "I32"):
                raise FormatError(f"cannot write GGUF tensor {t.name!r} of type {t.type_name}")
            dt = np.dtype(np.uint16) if t.type_name == "BF16" else np.dtype(np.float32)
            writer.add_tensor_info(t.name, list(t.shape), dt, t.nbytes(), GGMLQuantizationType[t.type_name])
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        bar = _bar(specs, progress)
        for t in specs:
            arr = np.ascontiguousarray(t.array())
            if t.type_name == "BF16":
                arr = arr.view(np.uint16)
            if arr.nbytes != t.nbytes():
                raise FormatError(f"GGUF tensor {t.name!r}: {arr.nbytes} bytes given, {t.type_name} {t.shape} needs "
                                  f"{t.nbytes()}")  # fmt: skip
            writer.write_tensor_data(arr)
            if bar is not None:
                bar.update(arr.nbytes)
        if bar is not None:
            bar.close()
    finally:
        writer.close()


def _bar(specs: list[GGUFTensor], on: bool) -> Any:
    if not on:
        return None
    from tqdm import tqdm

    return tqdm(total=sum(t.nbytes() for t in specs), unit="B", unit_scale=True, desc="writing GGUF")


__all__ = ["GGUFTensor", "write_gguf"]
