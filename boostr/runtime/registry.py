"""Backend registry: names to lazily imported runtime modules, clients cached per device.

Each runtime package (``boostr.runtime.cpu``, ``.cuda``, ``.wgpu``) exposes:

- ``probe() -> str | None``: None when usable, else why not (never raises);
- ``device_count() -> int``;
- ``create_client(index: int) -> ClientBase``.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any

from ..config import BACKEND_KINDS, normalize_backend, resolve_backend
from ..errors import BackendUnavailable

_MODULES = {kind: f"boostr.runtime.{kind}" for kind in BACKEND_KINDS}
_clients: dict[str, Any] = {}
_lock = threading.Lock()


def _module(kind: str) -> ModuleType:
    return importlib.import_module(_MODULES[kind])


def backend_status(kind: str) -> str | None:
    """None if ``kind`` can run here, else the reason it cannot (never raises)."""
    try:
        return _module(kind).probe()
    except Exception as exc:  # a probe must never raise
        return f"{type(exc).__name__}: {exc}"


def available_backends() -> list[str]:
    """Backend kinds that can run on this machine, e.g. ``['cpu', 'wgpu']``."""
    return [k for k in BACKEND_KINDS if backend_status(k) is None]


def get_client(name: str | None = None) -> Any:
    """The client for ``name`` (``cpu``, ``cuda``, ``cuda:1``, ``wgpu``), created once per device.

    ``None`` resolves through ``boostr.config`` (argument > use_backend > set_backend
    > BOOSTR_BACKEND > boostr.toml > cpu).
    """
    full = resolve_backend(name) if name is None else normalize_backend(name)
    client = _clients.get(full)
    if client is not None:
        return client
    kind, _, idx = full.partition(":")
    with _lock:
        client = _clients.get(full)
        if client is not None:
            return client
        reason = backend_status(kind)
        if reason is not None:
            raise BackendUnavailable(kind, reason)
        mod = _module(kind)
        index = int(idx or 0)
        count = mod.device_count()
        if index >= count:
            raise BackendUnavailable(full, f"device index {index} out of range: {count} device(s) found")
        client = mod.create_client(index)
        _clients[full] = client
        return client
