"""The ``client`` fixture: every op test runs once per available backend.

``BOOSTR_TEST_BACKENDS=cpu,wgpu`` picks backends (default: all available);
``BOOSTR_REQUIRE_BACKENDS=cpu,wgpu`` makes a named backend that cannot load a
failure instead of a skip.
"""

from __future__ import annotations

import os

import pytest

import boostr
from boostr.config import BACKEND_KINDS
from boostr.runtime.registry import backend_status


def _wanted() -> list[str]:
    env = os.environ.get("BOOSTR_TEST_BACKENDS")
    return [b.strip() for b in env.split(",") if b.strip()] if env else list(BACKEND_KINDS)


def _required() -> set[str]:
    env = os.environ.get("BOOSTR_REQUIRE_BACKENDS", "")
    return {b.strip() for b in env.split(",") if b.strip()}


def pytest_configure(config: pytest.Config) -> None:
    missing = {b: backend_status(b) for b in _required()}
    bad = {b: r for b, r in missing.items() if r is not None}
    if bad:
        raise pytest.UsageError(f"BOOSTR_REQUIRE_BACKENDS names backends that cannot load: {bad}")


BACKENDS = [b for b in _wanted() if b in BACKEND_KINDS]


@pytest.fixture(params=BACKENDS)
def client(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A boostr client for each wanted backend (skipped when it cannot load here)."""
    name = request.param
    reason = backend_status(name)
    if reason is not None:
        if name in _required():
            pytest.fail(f"required backend {name} unavailable: {reason}")
        pytest.skip(f"{name} unavailable: {reason}")
    return boostr.get_client(name)
