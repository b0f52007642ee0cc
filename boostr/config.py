"""Backend selection and settings: one place, one precedence.

The backend an op-creating call uses is, from strongest to weakest:

1. an explicit ``backend=`` argument;
2. ``with boostr.use_backend(name):`` (context-local: threads and asyncio tasks
   each see their own);
3. ``boostr.set_backend(name)`` (process-wide);
4. the ``BOOSTR_BACKEND`` environment variable;
5. a config file: ``boostr.toml`` in the working directory, then
   ``$XDG_CONFIG_HOME/boostr/boostr.toml`` (``~/.config/boostr/boostr.toml``),
   with a top-level ``backend = "cuda"``;
6. ``cpu``.

Other settings: ``BOOSTR_CACHE_DIR`` (compiled-kernel caches; falls back to a
writable temp dir when the default is read-only).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InvalidArgument

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

BACKEND_KINDS = ("cpu", "cuda", "wgpu")

_context_backend: contextvars.ContextVar[str | None] = contextvars.ContextVar("boostr_backend", default=None)
_global_backend: str | None = None


def normalize_backend(name: object) -> str:
    """Validate a backend name (``cpu``, ``cuda``, ``cuda:1``, ``wgpu``, ``wgpu:0``)."""
    if not isinstance(name, str):
        raise InvalidArgument("backend", f"expected a str, received {type(name).__name__}")
    name = name.strip().lower()
    kind, _, index = name.partition(":")
    if kind not in BACKEND_KINDS or (index and not index.isdigit()) or (kind == "cpu" and index not in ("", "0")):
        raise ValueError(
            f"Unknown backend. Expected one of {{'cpu', 'cuda', 'cuda:N', 'wgpu', 'wgpu:N'}}. Received: {name!r}"
        )
    if kind == "cpu":
        return "cpu"
    return f"{kind}:{int(index) if index else 0}"


def _config_files() -> list[Path]:
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path.cwd() / "boostr.toml", Path(xdg) / "boostr" / "boostr.toml"]


def _from_config_file() -> str | None:
    for path in _config_files():
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text())
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise InvalidArgument(str(path), f'expected a TOML file with backend = "...": {exc}') from exc
            value = data.get("backend")
            if value is not None:
                return str(value)
    return None


def resolve_backend(explicit: str | None = None) -> str:
    """The normalized backend name that applies now (see the module doc)."""
    for candidate in (explicit, _context_backend.get(), _global_backend, os.environ.get("BOOSTR_BACKEND")):
        if candidate:
            return normalize_backend(candidate)
    from_file = _from_config_file()
    return normalize_backend(from_file) if from_file else "cpu"


def set_backend(name: str | None) -> None:
    """Set the process-wide default backend (``None`` clears it)."""
    global _global_backend
    _global_backend = None if name is None else normalize_backend(name)


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """``with boostr.use_backend("wgpu"):`` selects a backend for this context."""
    token = _context_backend.set(normalize_backend(name))
    try:
        yield _context_backend.get() or "cpu"
    finally:
        _context_backend.reset(token)


def cache_dir(sub: str) -> Path:
    """A writable cache directory for ``sub`` (``BOOSTR_CACHE_DIR`` or the user cache)."""
    candidates = []
    if os.environ.get("BOOSTR_CACHE_DIR"):
        candidates.append(Path(os.environ["BOOSTR_CACHE_DIR"]))
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    candidates.append(Path(xdg) / "boostr")
    candidates.append(Path(tempfile.gettempdir()) / f"boostr-{os.getuid() if hasattr(os, 'getuid') else 'user'}")
    for base in candidates:
        path = base / sub
        try:
            path.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".probe-", dir=path)
            os.close(fd)
            os.unlink(probe)
            return path
        except OSError:
            continue
    raise OSError(f"no writable cache directory for {sub!r}; set BOOSTR_CACHE_DIR")
