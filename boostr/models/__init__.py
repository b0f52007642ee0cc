"""Models: the LLaMA-family decoder, its config, loading from GGUF/safetensors and the default model."""

from .config import LlamaConfig
from .default import DEFAULT_PACKAGE, INSTALL_HINT, ModelNotFound, default_model_path
from .llama import LlamaModel
from .load import backend_runs_format, load_model
from .save import save_gguf, save_hf

__all__ = [
    "DEFAULT_PACKAGE", "INSTALL_HINT", "LlamaConfig", "LlamaModel", "ModelNotFound", "backend_runs_format",
    "default_model_path", "load_model", "save_gguf", "save_hf",
]  # fmt: skip
