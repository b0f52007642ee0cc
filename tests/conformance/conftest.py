"""Fixtures for the conformance suite: ``other`` is a client different from ``client``."""

from __future__ import annotations

from typing import Any

import pytest

import boostr


@pytest.fixture
def other(client: Any) -> Any:
    """A second client: the CPU for a GPU client, or a fresh CpuClient instance for the CPU."""
    if client.kind == "cpu":
        from boostr.runtime.cpu import CpuClient

        return CpuClient()
    return boostr.get_client("cpu")
