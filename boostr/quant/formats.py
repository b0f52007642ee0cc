"""GGML block-quantization formats: the table every backend and QuantTensor share.

Each format packs ``block_elems`` consecutive weights of a row (the last axis)
into ``block_bytes`` bytes. Type ids and sizes are gguf 0.19's
``GGMLQuantizationType`` / ``GGML_QUANT_SIZES`` (llama.cpp ``ggml.h`` /
``ggml-common.h``); the conformance tests check this table against gguf-py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import FormatError

QK_K = 256


@dataclass(frozen=True, eq=False)
class QuantFormat:
    """One block format: ``QuantFormat("Q4_K", 12, 256, 144, "kquant")``.

    Compares equal to itself, its name (``fmt == "Q4_K"``) and its type id.
    """

    name: str
    type_id: int
    block_elems: int
    block_bytes: int
    family: str  # legacy | kquant | iq | ternary | fp4 | activation

    @property
    def bits_per_weight(self) -> float:
        return self.block_bytes * 8 / self.block_elems

    def row_bytes(self, k: int) -> int:
        """Bytes of one row of ``k`` weights (``k`` a multiple of ``block_elems``)."""
        return k // self.block_elems * self.block_bytes

    def __eq__(self, other: object) -> bool:
        if isinstance(other, QuantFormat):
            return self.type_id == other.type_id
        if isinstance(other, str):
            return other.upper() == self.name
        if isinstance(other, int) and not isinstance(other, bool):
            return other == self.type_id
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return (
            f"QuantFormat({self.name}, id={self.type_id}, {self.block_elems} elems/{self.block_bytes} bytes, "
            f"{self.bits_per_weight:.4g} bpw)"
        )


_TABLE = (
    # name, type id, block elements, block bytes, family
    ("Q4_0", 2, 32, 18, "legacy"),
    ("Q4_1", 3, 32, 20, "legacy"),
    ("Q5_0", 6, 32, 22, "legacy"),
    ("Q5_1", 7, 32, 24, "legacy"),
    ("Q8_0", 8, 32, 34, "legacy"),
    ("Q8_1", 9, 32, 36, "activation"),
    ("Q2_K", 10, QK_K, 84, "kquant"),
    ("Q3_K", 11, QK_K, 110, "kquant"),
    ("Q4_K", 12, QK_K, 144, "kquant"),
    ("Q5_K", 13, QK_K, 176, "kquant"),
    ("Q6_K", 14, QK_K, 210, "kquant"),
    ("Q8_K", 15, QK_K, 292, "activation"),
    ("IQ2_XXS", 16, QK_K, 66, "iq"),
    ("IQ2_XS", 17, QK_K, 74, "iq"),
    ("IQ3_XXS", 18, QK_K, 98, "iq"),
    ("IQ1_S", 19, QK_K, 50, "iq"),
    ("IQ4_NL", 20, 32, 18, "iq"),
    ("IQ3_S", 21, QK_K, 110, "iq"),
    ("IQ2_S", 22, QK_K, 82, "iq"),
    ("IQ4_XS", 23, QK_K, 136, "iq"),
    ("IQ1_M", 29, QK_K, 56, "iq"),
    ("TQ1_0", 34, QK_K, 54, "ternary"),
    ("TQ2_0", 35, QK_K, 66, "ternary"),
    ("MXFP4", 39, 32, 17, "fp4"),
    ("NVFP4", 40, 64, 36, "fp4"),
    ("Q1_0", 41, 128, 18, "legacy"),
)

FORMATS: dict[str, QuantFormat] = {row[0]: QuantFormat(*row) for row in _TABLE}
"""Every quantized GGML type, by name."""

_BY_ID = {f.type_id: f for f in FORMATS.values()}


def get_format(fmt: Any) -> QuantFormat:
    """A QuantFormat from a name (``"Q4_K"``, case-insensitive), a type id, a gguf enum or a QuantFormat.

    Unknown names or ids raise FormatError naming what was received.
    """
    if isinstance(fmt, QuantFormat):
        return fmt
    name = getattr(fmt, "name", None)
    if name is not None and not isinstance(fmt, str) and str(name).upper() in FORMATS:
        return FORMATS[str(name).upper()]
    if isinstance(fmt, str):
        f = FORMATS.get(fmt.upper())
        if f is None:
            raise FormatError(f"unknown quantization format {fmt!r}; known: {', '.join(FORMATS)}")
        return f
    if isinstance(fmt, int) and not isinstance(fmt, bool):
        f = _BY_ID.get(int(fmt))
        if f is None:
            raise FormatError(f"unknown or non-block GGML type id {int(fmt)}; known ids: {sorted(_BY_ID)}")
        return f
    raise FormatError(f"expected a format name, type id or QuantFormat, received {type(fmt).__name__}")


__all__ = ["FORMATS", "QK_K", "QuantFormat", "get_format"]
