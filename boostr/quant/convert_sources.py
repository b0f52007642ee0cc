"""The inputs of ``boostr quantize`` (``boostr.quant.convert``), read one tensor at a time.

``open_source(path)`` detects the format from the magic bytes and returns:

- ``GGUFSource``: a validated GGUF of a LLaMA-family architecture. Tensor names, order and the
  architecture are kept; every metadata key-value is copied with its original GGUF value type
  (tokenizer, chat template, hyper-parameters), except ``general.file_type`` and
  ``general.quantization_version``, which the writer sets. Quantized tensors are dequantized with
  boostr's CPU kernels (gguf-py for a format the CPU cannot decode).
- ``HFSource``: a safetensors file, sharded index or HF directory with ``config.json``. Written as
  a ``llama`` GGUF, as ``boostr.models.save_gguf`` writes: the ``llama.*`` hyper-parameters of
  ``models.save.gguf_metadata``, q/k rows (and biases) permuted from HF split-half RoPE to GGUF's
  adjacent pairs, llama3 RoPE scaling as a ``rope_freqs.weight`` tensor, a tied ``lm_head``
  dropped, llama.cpp tensor names, and the tokenizer from ``tokenizer.json`` (see
  ``boostr.formats.hf_tokenizer``).

Both give ``names``, ``shape(name)``, ``type_name(name)`` (GGML type, or the safetensors dtype),
``raw(name)`` (the data as stored: block rows or a float array), ``floats(name)`` (f32), ``notes``
and ``add_metadata(writer)``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..errors import FormatError, UnsupportedDType
from ..formats import detect_format, hf_to_module, module_to_gguf, open_safetensors, validate_gguf
from ..models.config import LlamaConfig
from .formats import FORMATS

_SKIP_KEYS = ("general.architecture", "general.file_type", "general.quantization_version")
_BLK_RE = re.compile(r"^blk\.(\d+)\.")


def _order(name: str) -> tuple[int, int, str]:
    """llama.cpp's tensor order: rope_freqs and token_embd, the blocks by index, then output*."""
    m = _BLK_RE.match(name)
    if m:
        return (1, int(m.group(1)), name)
    return (0, 0, name) if name.startswith(("rope_freqs", "token_embd")) else (2, 0, name)


class GGUFSource:
    """A LLaMA-family GGUF input (see the module doc). The header is validated by boostr first
    (``validate_gguf``), then parsed once by gguf-py's memory-mapped reader."""

    def __init__(self, path: str) -> None:
        from gguf import GGUFReader, GGUFValueType

        validate_gguf(path)
        self.notes: list[str] = []
        self._kvs: list[tuple[str, Any, Any, Any]] = []
        metadata: dict[str, Any] = {}
        try:
            reader = GGUFReader(path, "r")
            for key, fld in reader.fields.items():
                if key.startswith("GGUF."):
                    continue
                metadata[key] = value = fld.contents()
                types = list(fld.types)
                if key in _SKIP_KEYS:
                    continue
                if types[0] == GGUFValueType.ARRAY and len(types) != 2:
                    self.notes.append(f"metadata {key!r} (a nested array) is not carried over")
                    continue
                self._kvs.append((key, value, types[0], types[1] if types[0] == GGUFValueType.ARRAY else None))
            self._tensors = {t.name: t for t in reader.tensors}
        except Exception as exc:  # gguf-py raises ValueError, KeyError, IndexError, struct errors...
            raise FormatError(f"GGUF {path!r} could not be read: {type(exc).__name__}: {exc}") from exc
        LlamaConfig.from_gguf(metadata)  # FormatError unless a LLaMA-family decoder
        self.arch = str(metadata["general.architecture"])
        self.names = list(self._tensors)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(int(d) for d in reversed(self._tensors[name].shape.tolist()))

    def type_name(self, name: str) -> str:
        return str(self._tensors[name].tensor_type.name)

    def raw(self, name: str) -> np.ndarray:
        data = self._tensors[name].data
        if self.type_name(name) == "BF16":
            import ml_dtypes

            data = data.view(np.uint16).view(ml_dtypes.bfloat16)
        return data.reshape(self.shape(name)) if self.type_name(name) not in FORMATS else data  # type: ignore[no-any-return]

    def floats(self, name: str) -> np.ndarray:
        kind, shape, host = self.type_name(name), self.shape(name), self.raw(name)
        if kind not in FORMATS:
            return np.asarray(host, dtype=np.float32).reshape(shape)
        from ..runtime.registry import get_client
        from .quant_tensor import QuantTensor

        try:
            qt = QuantTensor.from_raw(host, kind, shape, backend=get_client("cpu"))
            return np.asarray(qt.dequantize().numpy(), dtype=np.float32)
        except UnsupportedDType:
            from gguf import GGMLQuantizationType
            from gguf.quants import dequantize

            return dequantize(np.asarray(host), GGMLQuantizationType[kind]).reshape(shape).astype(np.float32)

    def add_metadata(self, writer: Any) -> None:
        for key, value, vtype, sub in self._kvs:
            writer.add_key_value(key, value, vtype, sub_type=sub)


class HFSource:
    """A safetensors / HF-directory input (see the module doc)."""

    arch = "llama"

    def __init__(self, path: str) -> None:
        from ..formats.hf_tokenizer import hf_tokenizer_metadata

        self.ck = open_safetensors(path)
        if self.ck.hf_config is None:
            raise FormatError(f"safetensors checkpoint {path!r} has no config.json beside it")
        self.cfg = cfg = LlamaConfig.from_hf(self.ck.hf_config)
        kind = (cfg.rope_scaling or {}).get("rope_type", (cfg.rope_scaling or {}).get("type"))
        if kind not in (None, "linear", "yarn", "llama3"):
            raise FormatError(f"rope scaling {kind!r} of {path!r} has no GGUF encoding")
        self.notes: list[str] = []
        self._hf: dict[str, str] = {}
        for n in self.ck.names:
            if n.endswith("rotary_emb.inv_freq"):
                continue
            if n == "lm_head.weight" and cfg.tie_word_embeddings:
                self.notes.append("lm_head.weight dropped: the embedding is tied (tie_word_embeddings)")
                continue
            try:
                self._hf[module_to_gguf(hf_to_module(n))] = n
            except FormatError:
                raise FormatError(f"tensor {n!r} of {path!r} is not a LLaMA-family parameter") from None
        self._extra: dict[str, np.ndarray] = {}
        if kind == "llama3":
            self._extra["rope_freqs.weight"] = self._freq_factors()
        self.names = sorted([*self._hf, *self._extra], key=_order)
        directory = Path(path) if os.path.isdir(path) else Path(path).parent
        self.name = directory.resolve().name
        self.tokenizer_md, notes = hf_tokenizer_metadata(directory, cfg.vocab_size)
        self.notes += notes

    def _freq_factors(self) -> np.ndarray:
        from ..testing.llama_ref import inv_frequencies

        c = self.cfg
        plain, _ = inv_frequencies(c.head_dim, c.rope_theta, None, c.max_position_embeddings)
        scaled, _ = inv_frequencies(c.head_dim, c.rope_theta, c.rope_scaling, c.max_position_embeddings)
        return (plain / scaled).astype(np.float32)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._extra[name].shape if name in self._extra else self.ck.shape(self._hf[name])

    def type_name(self, name: str) -> str:
        return "F32" if name in self._extra else self.ck.dtype_name(self._hf[name])

    def raw(self, name: str) -> np.ndarray:
        if name in self._extra:
            return self._extra[name]
        arr = self.ck.host_array(self._hf[name])
        heads = {"attn_q": self.cfg.num_heads, "attn_k": self.cfg.num_kv_heads}.get(name.split(".")[-2])
        if heads is not None:
            from ..models.save import _rows

            arr = _rows(np.asarray(arr), heads, to_interleaved=True)
        return arr

    def floats(self, name: str) -> np.ndarray:
        return np.asarray(self.raw(name), dtype=np.float32)

    def add_metadata(self, writer: Any) -> None:
        from ..formats.gguf_write import _add_kv
        from ..models.save import gguf_metadata

        md = gguf_metadata(SimpleNamespace(config=self.cfg, source_metadata=self.tokenizer_md))  # type: ignore[arg-type]
        for key, value in {"general.name": self.name, **md}.items():
            _add_kv(writer, key, value)


def open_source(path: str | os.PathLike[str]) -> GGUFSource | HFSource:
    """The input of ``boostr quantize`` at ``path`` (format from the magic bytes; FormatError if unusable)."""
    p = os.fspath(path)
    return GGUFSource(p) if detect_format(p) == "gguf" else HFSource(p)


__all__ = ["GGUFSource", "HFSource", "open_source"]
