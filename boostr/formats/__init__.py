"""Model file formats: detection by magic bytes, GGUF (read via gguf-py's memory-mapped reader after
our own header validation; write via GGUFWriter) and safetensors (numpy API, sharded indexes)."""

from .detect import detect_format
from .gguf import GGUFFile, gguf_to_module, module_to_gguf, open_gguf
from .gguf_check import validate_gguf
from .gguf_write import GGUFTensor, write_gguf
from .safetensors import (
    SafetensorsCheckpoint,
    hf_to_module,
    module_to_hf,
    open_safetensors,
    save_safetensors,
    save_sharded,
)

__all__ = [
    "GGUFFile", "GGUFTensor", "SafetensorsCheckpoint", "detect_format", "gguf_to_module", "hf_to_module",
    "module_to_gguf", "module_to_hf", "open_gguf", "open_safetensors", "save_safetensors", "save_sharded",
    "validate_gguf", "write_gguf",
]  # fmt: skip
