"""Validate a GGUF file's header before anything trusts it (GGUFReader included).

The header is walked with bounds checks only: every count and length is compared with
the bytes left in the file before it is used, so a hostile file cannot make the reader
allocate or loop beyond the file's size. Checked: magic, version (2 or 3, little endian),
tensor and key-value counts, string lengths, value types, array lengths and nesting,
``general.alignment``, and for each tensor its dims (1 to 4, positive), its type (a known
GGML type), the row length against the type's block, the offset (aligned, in range) and
its byte size against the end of the file. Layout of a GGUF file (gguf spec):

    magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv | kv* | tensor_info* | pad | data
    kv          = string key | u32 type | value
    string      = u64 length | utf-8 bytes
    array       = u32 elem type | u64 count | elem*
    tensor_info = string name | u32 n_dims | u64 dims[n_dims] | u32 ggml type | u64 offset
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from ..errors import FormatError

# value type id -> fixed size in bytes (8 = string, 9 = array: variable)
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
MAX_DIMS = 4
MAX_ARRAY_DEPTH = 2
DEFAULT_ALIGNMENT = 32


@dataclass(frozen=True)
class TensorSpan:
    """One tensor's place in the file: ``name``, GGML ``dims`` (fastest first), ``type_id``,
    absolute byte ``start`` and ``nbytes``."""

    name: str
    dims: tuple[int, ...]
    type_id: int
    start: int
    nbytes: int


class _Cursor:
    def __init__(self, buf: mmap.mmap | bytes, path: str) -> None:
        self.buf = buf
        self.pos = 0
        self.size = len(buf)
        self.path = path

    def fail(self, what: str) -> FormatError:
        return FormatError(f"malformed GGUF {self.path!r} at byte {self.pos}: {what}")

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise self.fail(f"{what} needs {n} bytes, only {self.size - self.pos} left (truncated or hostile file)")

    def unpack(self, fmt: str, what: str) -> int:
        n = struct.calcsize(fmt)
        self.need(n, what)
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return int(v)

    def string(self, what: str) -> str:
        n = self.unpack("<Q", f"{what} length")
        self.need(n, f"{what} of {n} bytes")
        raw = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.fail(f"{what} is not valid UTF-8") from exc

    def skip_value(self, vtype: int, what: str, depth: int = 0) -> int | str | None:
        """Skip one value; return it when it is an int or string of interest (else None)."""
        if vtype in _FIXED:
            n = _FIXED[vtype]
            self.need(n, what)
            fmt = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}[n] if vtype in (0, 2, 4, 10, 7) else None
            v = struct.unpack_from(fmt, self.buf, self.pos)[0] if fmt else None
            self.pos += n
            return v
        if vtype == _STRING:
            n = self.unpack("<Q", f"{what} length")
            self.need(n, f"{what} of {n} bytes")
            self.pos += n
            return None
        if vtype == _ARRAY:
            if depth >= MAX_ARRAY_DEPTH:
                raise self.fail(f"{what}: arrays nested deeper than {MAX_ARRAY_DEPTH}")
            etype = self.unpack("<I", f"{what} element type")
            count = self.unpack("<Q", f"{what} count")
            if etype in _FIXED:
                self.need(count * _FIXED[etype], f"{what}: {count} elements of {_FIXED[etype]} bytes")
                self.pos += count * _FIXED[etype]
            elif etype in (_STRING, _ARRAY):
                self.need(count * 8, f"{what}: {count} variable-size elements")
                for i in range(count):
                    self.skip_value(etype, f"{what}[{i}]", depth + 1)
            else:
                raise self.fail(f"{what}: unknown array element type {etype}")
            return None
        raise self.fail(f"{what}: unknown value type {vtype}")


def _tensor_bytes(cur: _Cursor, name: str, dims: list[int], type_id: int) -> int:
    try:
        qtype = GGMLQuantizationType(type_id)
    except ValueError:
        raise cur.fail(f"tensor {name!r} has unknown GGML type id {type_id}") from None
    if qtype not in GGML_QUANT_SIZES:
        raise cur.fail(f"tensor {name!r} has GGML type {qtype.name} without a known block size")
    block, type_size = GGML_QUANT_SIZES[qtype]
    if dims[0] % block:
        raise cur.fail(f"tensor {name!r}: row length {dims[0]} is not a multiple of {qtype.name}'s block {block}")
    n = 1
    for d in dims:
        n *= d
    return n // block * type_size


def validate_gguf(path: str | os.PathLike[str]) -> list[TensorSpan]:
    """Walk the header of the GGUF file at ``path``; FormatError on anything out of bounds.

    Returns the tensors' spans (absolute offsets) for callers that want them.
    """
    spath = os.fspath(path)
    try:
        with open(spath, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < 24:
                raise FormatError(f"GGUF file {spath!r} is {size} bytes: shorter than a GGUF header (24 bytes)")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _walk(_Cursor(buf, spath))
    except OSError as exc:
        raise FormatError(f"cannot read GGUF file {spath!r}: {exc}") from exc


def _walk(cur: _Cursor) -> list[TensorSpan]:
    if bytes(cur.buf[:4]) != b"GGUF":
        raise cur.fail(f"wrong magic {bytes(cur.buf[:4])!r}, expected b'GGUF'")
    cur.pos = 4
    version = cur.unpack("<I", "version")
    if version not in (2, 3):
        swapped = struct.unpack(">I", struct.pack("<I", version))[0]
        hint = " (a big-endian file: not supported)" if swapped in (2, 3) else ""
        raise cur.fail(f"unsupported GGUF version {version}{hint}; expected 2 or 3")
    n_tensors = cur.unpack("<Q", "tensor count")
    n_kv = cur.unpack("<Q", "key-value count")
    left = cur.size - cur.pos
    if n_kv * 13 > left:  # smallest kv: empty key (8) + type (4) + a 1-byte value
        raise cur.fail(f"key-value count {n_kv} cannot fit in the {left} bytes left")
    if n_tensors * 32 > left:  # smallest tensor info: 8 + 4 + 8 + 4 + 8 bytes
        raise cur.fail(f"tensor count {n_tensors} cannot fit in the {left} bytes left")
    alignment = DEFAULT_ALIGNMENT
    for i in range(n_kv):
        key = cur.string(f"key #{i}")
        vtype = cur.unpack("<I", f"type of {key!r}")
        value = cur.skip_value(vtype, f"value of {key!r}")
        if key == "general.alignment":
            if vtype != 4 or not isinstance(value, int) or value <= 0 or value & (value - 1):
                raise cur.fail(f"general.alignment must be a u32 power of two, received {value!r} (type {vtype})")
            alignment = value
    infos = []
    for i in range(n_tensors):
        name = cur.string(f"tensor #{i} name")
        n_dims = cur.unpack("<I", f"tensor {name!r} n_dims")
        if not 1 <= n_dims <= MAX_DIMS:
            raise cur.fail(f"tensor {name!r} has {n_dims} dims; expected 1 to {MAX_DIMS}")
        dims = [cur.unpack("<Q", f"tensor {name!r} dim") for _ in range(n_dims)]
        if any(d <= 0 or d >= 1 << 48 for d in dims):
            raise cur.fail(f"tensor {name!r} has dims {dims}; expected positive sizes below 2**48")
        type_id = cur.unpack("<I", f"tensor {name!r} type")
        offset = cur.unpack("<Q", f"tensor {name!r} offset")
        infos.append((name, dims, type_id, offset))
    data_start = -(-cur.pos // alignment) * alignment
    spans = []
    seen: set[str] = set()
    for name, dims, type_id, offset in infos:
        if name in seen:
            raise cur.fail(f"duplicate tensor name {name!r}")
        seen.add(name)
        nbytes = _tensor_bytes(cur, name, dims, type_id)
        if offset % alignment:
            raise cur.fail(f"tensor {name!r} offset {offset} is not a multiple of the alignment {alignment}")
        if data_start + offset + nbytes > cur.size:
            raise cur.fail(
                f"tensor {name!r} ({nbytes} bytes at data offset {offset}) ends past the end of the file "
                f"({cur.size} bytes, data starts at {data_start}): truncated or bad offset"
            )
        spans.append(TensorSpan(name, tuple(dims), type_id, data_start + offset, nbytes))
    return spans


__all__ = ["TensorSpan", "validate_gguf"]
