"""safetensors reading and writing through the safetensors package's numpy API (memory-mapped).

``open_safetensors(path)`` takes a ``.safetensors`` file, a sharded checkpoint's
``model.safetensors.index.json`` or an HF model directory, and returns a ``SafetensorsCheckpoint``:
tensor names, shapes and dtypes from the headers, ``load(name, client)`` uploading one tensor,
and the directory's ``config.json`` (``hf_config``). Before the safetensors library opens a
file, its 8-byte header length is checked against the file size; the index's shard names must
be plain file names inside the checkpoint directory. Anything the library raises becomes
``FormatError``. No pickle is ever read.

Names: HF names (``model.layers.0.self_attn.q_proj.weight``) map to boostr module names by
dropping the ``model.`` prefix (``hf_to_module``).

Writing: ``save_safetensors(path, tensors)`` and ``save_sharded(directory, tensors,
max_shard_bytes)``, which writes ``model-0000i-of-0000n.safetensors`` shards plus the index.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .. import dtype as _dt
from ..errors import FormatError
from ..tensor import Tensor
from .detect import detect_format, hf_dir_weights

INDEX_NAME = "model.safetensors.index.json"
_DTYPES = {"F32": _dt.f32, "F16": _dt.f16, "BF16": _dt.bf16, "F64": _dt.f64, "I64": _dt.i64, "I32": _dt.i32,
           "I16": _dt.i16, "I8": _dt.i8, "U8": _dt.u8, "BOOL": _dt.bool_,
           "F8_E4M3": _dt.fp8_e4m3, "F8_E5M2": _dt.fp8_e5m2}  # fmt: skip


def hf_to_module(name: str) -> str:
    """boostr module name of an HF parameter name."""
    return name[len("model.") :] if name.startswith("model.") else name


def module_to_hf(name: str) -> str:
    return name if name.startswith("lm_head.") else f"model.{name}"


def _check_header(path: Path) -> None:
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise FormatError(f"cannot read safetensors file {str(path)!r}: {exc}") from exc
    if len(head) < 8:
        raise FormatError(f"safetensors file {str(path)!r} is {size} bytes: shorter than its 8-byte header length")
    (n,) = struct.unpack("<Q", head)
    if n + 8 > size:
        raise FormatError(f"safetensors {str(path)!r}: header length {n} exceeds the file size {size}")


class SafetensorsCheckpoint:
    """One or more safetensors files seen as one name -> tensor mapping (see the module doc)."""

    def __init__(self, files: list[Path], hf_config: dict[str, Any] | None, expected: list[str] | None = None) -> None:
        from safetensors import safe_open

        self.hf_config = hf_config
        self.metadata: dict[str, str] = {}
        self._where: dict[str, Any] = {}
        self._handles: list[Any] = []
        for path in dict.fromkeys(files):
            _check_header(path)
            try:
                h = safe_open(str(path), framework="numpy")
                keys = list(h.keys())
                self.metadata = h.metadata() or {}
            except Exception as exc:  # SafetensorError derives from Exception only
                raise FormatError(f"safetensors {str(path)!r} could not be read: {exc}") from exc
            self._handles.append(h)
            for k in keys:
                if k in self._where:
                    raise FormatError(f"tensor {k!r} appears in more than one shard")
                self._where[k] = h
        missing = [k for k in expected or () if k not in self._where]
        if missing:
            raise FormatError(f"the index names tensors its shards lack: {missing[:8]}")

    @property
    def names(self) -> list[str]:
        return list(self._where)

    def __contains__(self, name: object) -> bool:
        return name in self._where

    def _slice(self, name: str) -> Any:
        try:
            return self._where[name].get_slice(name)
        except KeyError:
            raise FormatError(f"checkpoint has no tensor {name!r}") from None

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(int(n) for n in self._slice(name).get_shape())

    def dtype_name(self, name: str) -> str:
        return str(self._slice(name).get_dtype())

    def host_array(self, name: str) -> np.ndarray:
        """The tensor as a numpy array (safetensors' numpy API)."""
        kind = self.dtype_name(name)
        if kind not in _DTYPES:
            raise FormatError(f"tensor {name!r} has dtype {kind}, which boostr does not load")
        try:
            return self._where[name].get_tensor(name)  # type: ignore[no-any-return]
        except Exception as exc:
            raise FormatError(f"tensor {name!r} could not be read: {exc}") from exc

    def load(self, name: str, client: Any) -> Tensor:
        """Upload tensor ``name``; a float dtype the client does not store is converted to f32."""
        kind = self.dtype_name(name)
        arr = self.host_array(name)
        dt = _DTYPES[kind]
        if dt not in client.storage_dtypes:
            if not dt.is_float:
                raise FormatError(f"tensor {name!r} ({kind}) cannot be stored on {client.device_name}")
            return client.from_numpy(arr.astype(np.float32), _dt.f32)  # type: ignore[no-any-return]
        return client.from_numpy(arr, dt)  # type: ignore[no-any-return]


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{what} {str(path)!r} could not be read: {exc}") from exc
    if not isinstance(doc, dict):
        raise FormatError(f"{what} {str(path)!r} is not a JSON object")
    return doc


def _index_files(index: Path) -> dict[str, Path]:
    doc = _read_json(index, "safetensors index")
    wmap = doc.get("weight_map")
    if not isinstance(wmap, dict):
        raise FormatError(f"safetensors index {str(index)!r} has no 'weight_map' object")
    out = {}
    for name, shard in wmap.items():
        if not isinstance(shard, str) or not shard or os.path.basename(shard) != shard or shard in (".", ".."):
            raise FormatError(f"index maps {name!r} to {shard!r}: expected a file name inside the checkpoint dir")
        out[str(name)] = index.parent / shard
    return out


def open_safetensors(path: str | os.PathLike[str]) -> SafetensorsCheckpoint:
    """A checkpoint from a file, an index JSON or an HF directory (see the module doc)."""
    p = Path(path)
    kind = detect_format(p)
    if kind == "hf-dir":
        p = hf_dir_weights(p)
        kind = "safetensors-index" if p.name.endswith(".json") else "safetensors"
    cfg_path = p.parent / "config.json"
    cfg = _read_json(cfg_path, "HF config") if cfg_path.is_file() else None
    if kind == "safetensors-index":
        files = _index_files(p)
        return SafetensorsCheckpoint(list(files.values()), cfg, expected=list(files))
    if kind == "safetensors":
        return SafetensorsCheckpoint([p], cfg)
    raise FormatError(f"{str(p)!r} is {kind}, not safetensors")


def _as_numpy(t: Any) -> np.ndarray:
    return t.numpy() if isinstance(t, Tensor) else np.ascontiguousarray(t)


def save_safetensors(
    path: str | os.PathLike[str], tensors: dict[str, Any], metadata: dict[str, str] | None = None
) -> None:
    """Write ``{name: numpy array or boostr Tensor}`` to one safetensors file."""
    from safetensors.numpy import save_file

    save_file({k: _as_numpy(v) for k, v in tensors.items()}, os.fspath(path), metadata=metadata)


def save_sharded(
    directory: str | os.PathLike[str], tensors: dict[str, Any], max_shard_bytes: int = 4 << 30,
    metadata: dict[str, str] | None = None,
) -> list[Path]:  # fmt: skip
    """Write shards of at most ``max_shard_bytes`` (one tensor may exceed it alone) and the index."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    groups: list[dict[str, np.ndarray]] = [{}]
    size = 0
    for name, t in tensors.items():
        arr = _as_numpy(t)
        if groups[-1] and size + arr.nbytes > max_shard_bytes:
            groups.append({})
            size = 0
        groups[-1][name] = arr
        size += arr.nbytes
    paths, wmap, total = [], {}, 0
    for i, g in enumerate(groups):
        fname = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
        save_safetensors(d / fname, g, metadata)
        paths.append(d / fname)
        total += sum(a.nbytes for a in g.values())
        wmap.update(dict.fromkeys(g, fname))
    index = {"metadata": {"total_size": total}, "weight_map": wmap}
    (d / INDEX_NAME).write_text(json.dumps(index, indent=2), encoding="utf-8")
    return paths


__all__ = [
    "INDEX_NAME", "SafetensorsCheckpoint", "hf_to_module", "module_to_hf", "open_safetensors", "save_safetensors",
    "save_sharded",
]  # fmt: skip
