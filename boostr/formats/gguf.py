"""GGUF reading: validated header, gguf-py's memory-mapped GGUFReader, tensors as QuantTensor or Tensor.

``open_gguf(path)`` validates the header (``gguf_check.validate_gguf``: every count, length,
type and offset against the file size) before GGUFReader sees the file, and wraps anything
the reader raises in ``FormatError``. Tensor data stays in the memory map until it is
uploaded: quantized types become ``QuantTensor`` (the block bytes as they are), F32/F16/BF16
float Tensors. Shapes here are numpy order (rows first: GGML's dims reversed), e.g.
``token_embd.weight [V, E]``, ``blk.N.attn_q.weight [H*D, E]``. Nothing in a GGUF is code:
no pickle, no eval.

Names: ``gguf_to_module(name)`` maps llama.cpp's tensor names to boostr module names
(HF names without ``model.``): ``blk.3.attn_q.weight`` -> ``layers.3.self_attn.q_proj.weight``.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any

import numpy as np

from .. import dtype as _dt
from ..errors import FormatError
from ..quant.formats import FORMATS
from ..quant.quant_tensor import QuantTensor
from ..tensor import Tensor
from .gguf_check import validate_gguf

FLOAT_TYPES = {"F32": _dt.f32, "F16": _dt.f16, "BF16": _dt.bf16, "F64": _dt.f64}
INT_TYPES = {"I8": _dt.i8, "I16": _dt.i16, "I32": _dt.i32, "I64": _dt.i64}

_BLOCK_NAMES = {
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}  # fmt: skip
_TOP_NAMES = {"token_embd": "embed_tokens", "output_norm": "norm", "output": "lm_head"}
_BLOCK_RE = re.compile(r"^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$")
_TOP_RE = re.compile(r"^([a-z_]+)\.(weight|bias)$")


def gguf_to_module(name: str) -> str | None:
    """boostr module name of a llama.cpp tensor name, or None for tensors that are not parameters."""
    m = _BLOCK_RE.match(name)
    if m and m.group(2) in _BLOCK_NAMES:
        return f"layers.{m.group(1)}.{_BLOCK_NAMES[m.group(2)]}.{m.group(3)}"
    m = _TOP_RE.match(name)
    if m and m.group(1) in _TOP_NAMES:
        return f"{_TOP_NAMES[m.group(1)]}.{m.group(2)}"
    return None


_REV_BLOCK = {v: k for k, v in _BLOCK_NAMES.items()}
_REV_TOP = {v: k for k, v in _TOP_NAMES.items()}
_MOD_BLOCK_RE = re.compile(r"^layers\.(\d+)\.(.+)\.(weight|bias)$")


def module_to_gguf(name: str) -> str:
    """llama.cpp tensor name of a boostr module parameter name (inverse of ``gguf_to_module``)."""
    m = _MOD_BLOCK_RE.match(name)
    if m and m.group(2) in _REV_BLOCK:
        return f"blk.{m.group(1)}.{_REV_BLOCK[m.group(2)]}.{m.group(3)}"
    head, _, kind = name.rpartition(".")
    if head in _REV_TOP:
        return f"{_REV_TOP[head]}.{kind}"
    raise FormatError(f"no GGUF name for module parameter {name!r}")


class GGUFFile:
    """A validated, memory-mapped GGUF file: ``metadata`` (decoded values) and tensors by name."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from gguf import GGUFReader

        self.path = os.fspath(path)
        validate_gguf(self.path)
        try:
            reader = GGUFReader(self.path, "r")
            self.metadata: dict[str, Any] = {}
            for key, field in reader.fields.items():
                if not key.startswith("GGUF."):
                    self.metadata[key] = field.contents()
            self._tensors = {t.name: t for t in reader.tensors}
        except FormatError:
            raise
        except Exception as exc:  # gguf-py raises ValueError, KeyError, IndexError, struct errors...
            raise FormatError(f"GGUF {self.path!r} could not be read: {type(exc).__name__}: {exc}") from exc

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    @property
    def names(self) -> list[str]:
        return list(self._tensors)

    def __contains__(self, name: object) -> bool:
        return name in self._tensors

    def type_name(self, name: str) -> str:
        """GGML type name of tensor ``name`` (``"Q4_K"``, ``"F32"``, ...)."""
        return str(self._info(name).tensor_type.name)

    def shape(self, name: str) -> tuple[int, ...]:
        """Logical shape in numpy order (GGML dims reversed)."""
        return tuple(int(d) for d in reversed(self._info(name).shape.tolist()))

    def nbytes(self, name: str) -> int:
        return int(self._info(name).n_bytes)

    def _info(self, name: str) -> Any:
        try:
            return self._tensors[name]
        except KeyError:
            raise FormatError(f"GGUF {self.path!r} has no tensor {name!r}") from None

    def host_array(self, name: str) -> np.ndarray:
        """The tensor's bytes as a read-only memory-mapped array (no copy): uint8 block rows for
        quantized types, else the float/int array of ``shape(name)`` (BF16 as ml_dtypes.bfloat16)."""
        t = self._info(name)
        data = t.data
        if t.tensor_type.name == "BF16":
            data = data.view(np.uint16).view(_dt.bf16.np_dtype).reshape(self.shape(name))
        return data  # type: ignore[no-any-return]

    def load(self, name: str, client: Any, dequantize: bool = False) -> Tensor | QuantTensor:
        """Upload tensor ``name`` to ``client``: a QuantTensor for block types (``dequantize``:
        decoded on the host with gguf-py to f32 instead), else a Tensor. A float type the client
        does not store is converted to f32 on the host."""
        kind = self.type_name(name)
        shape = self.shape(name)
        host = self.host_array(name)
        if kind in FORMATS:
            if not dequantize:
                return QuantTensor.from_raw(host, kind, shape, backend=client)
            from gguf import GGMLQuantizationType
            from gguf.quants import dequantize as gq_dequantize

            return client.from_numpy(gq_dequantize(host, GGMLQuantizationType[kind]).reshape(shape), _dt.f32)
        dt = FLOAT_TYPES.get(kind) or INT_TYPES.get(kind)
        if dt is None:
            raise FormatError(f"GGUF tensor {name!r} has type {kind}, which boostr does not load")
        if dt not in client.storage_dtypes:
            if not dt.is_float:
                raise FormatError(f"GGUF tensor {name!r} ({kind}) cannot be stored on {client.device_name}")
            return client.from_numpy(np.asarray(host, dtype=np.float32).reshape(shape), _dt.f32)
        return client.from_numpy(host.reshape(shape), dt)  # type: ignore[no-any-return]


@lru_cache(maxsize=4)
def _open_cached(path: str, mtime_ns: int, size: int) -> GGUFFile:
    return GGUFFile(path)


def open_gguf(path: str | os.PathLike[str]) -> GGUFFile:
    """A GGUFFile for ``path`` (parsed once per file version in this process)."""
    p = os.path.realpath(os.fspath(path))
    try:
        st = os.stat(p)
    except OSError as exc:
        raise FormatError(f"cannot open GGUF file {os.fspath(path)!r}: {exc}") from exc
    return _open_cached(p, st.st_mtime_ns, st.st_size)


__all__ = ["FLOAT_TYPES", "GGUFFile", "gguf_to_module", "module_to_gguf", "open_gguf"]
