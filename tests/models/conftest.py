"""Fixtures of the model tests: synthetic GGUF files (written once per session) and the default model."""

from __future__ import annotations

import pytest
from synthetic_cases import SYNTHETIC

from boostr.models import ModelNotFound, default_model_path
from boostr.testing.synthetic import spec_with, write_synthetic_gguf


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``{name: path}`` of the synthetic GGUF models above (written lazily, once)."""
    root = tmp_path_factory.mktemp("synthetic")

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, name: str) -> str:
            changes, quant = SYNTHETIC[name]
            path = write_synthetic_gguf(root / f"{name}.gguf", spec_with("tiny", **changes), quant=quant, seed=1)
            self[name] = path
            return path

    return Lazy()


@pytest.fixture(scope="session")
def default_model() -> str:
    """Path of the default model, or a skip when its package is not installed."""
    try:
        return default_model_path()
    except ModelNotFound as exc:
        pytest.skip(str(exc).splitlines()[0])
