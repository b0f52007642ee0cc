"""Model-file format detection from magic bytes (never from the file name alone).

``detect_format(path)`` returns one of:

- ``"gguf"``: the file starts with ``b"GGUF"``;
- ``"safetensors"``: an 8-byte little-endian header length ``N`` (``8 + N <= file size``)
  followed by a JSON object (``{``);
- ``"safetensors-index"``: a JSON file with a ``weight_map`` (HF ``model.safetensors.index.json``);
- ``"hf-dir"``: a directory holding ``config.json`` and ``model.safetensors`` or its index.

Anything else raises ``FormatError`` saying what the first bytes were.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from ..errors import FormatError

GGUF_MAGIC = b"GGUF"
MAX_INDEX_JSON = 64 << 20  # an index JSON larger than this is not an index


def _read_head(path: Path, n: int) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError as exc:
        raise FormatError(f"cannot read model file {str(path)!r}: {exc}") from exc


def hf_dir_weights(path: Path) -> Path:
    """The weights file of an HF model directory: the index if sharded, else ``model.safetensors``."""
    for name in ("model.safetensors.index.json", "model.safetensors"):
        if (path / name).is_file():
            return path / name
    raise FormatError(f"directory {str(path)!r} has no model.safetensors or model.safetensors.index.json")


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format of a model file or directory (see the module doc); FormatError if unknown."""
    p = Path(path)
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise FormatError(f"directory {str(p)!r} has no config.json (expected an HF model directory)")
        hf_dir_weights(p)
        return "hf-dir"
    if not p.is_file():
        raise FormatError(f"model file {str(p)!r} does not exist")
    size = p.stat().st_size
    head = _read_head(p, 9)
    if head[:4] == GGUF_MAGIC:
        return "gguf"
    if len(head) >= 9:
        (n,) = struct.unpack("<Q", head[:8])
        if 2 <= n and 8 + n <= size and head[8:9] == b"{":
            return "safetensors"
    if head[:1] in (b"{", b" ", b"\n", b"\t", b"\r") and size <= MAX_INDEX_JSON:
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(f"{str(p)!r} looks like JSON but does not parse: {exc}") from exc
        if isinstance(doc, dict) and isinstance(doc.get("weight_map"), dict):
            return "safetensors-index"
        raise FormatError(f"{str(p)!r} is JSON without a 'weight_map' (not a safetensors index)")
    raise FormatError(
        f"unknown model format for {str(p)!r}: first bytes {head[:8]!r}; expected GGUF (magic b'GGUF'), "
        "safetensors (u64 header length + JSON) or a safetensors index JSON"
    )


__all__ = ["GGUF_MAGIC", "detect_format", "hf_dir_weights"]
