"""Typed errors raised by boostr.

Every error names what was wrong and what was expected, so that a user can fix
the call without reading boostr's source.
"""

from __future__ import annotations


class BoostrError(Exception):
    """Base class of every error boostr raises on purpose."""


class InvalidArgument(BoostrError, ValueError):
    """An argument has the wrong shape, value, dtype or device.

    ``InvalidArgument("dim", "expected an int in [-2, 2), received 5")``.
    """

    def __init__(self, arg: str, reason: str) -> None:
        self.arg = arg
        self.reason = reason
        super().__init__(f"invalid argument '{arg}': {reason}")


class UnsupportedDType(BoostrError, TypeError):
    """A backend cannot run an op in a dtype (never silently downcast)."""

    def __init__(self, op: str, dtype: object, backend: str, hint: str = "") -> None:
        self.op = op
        self.dtype = dtype
        self.backend = backend
        msg = f"op '{op}' does not support dtype {dtype} on backend '{backend}'"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class BackendUnavailable(BoostrError, RuntimeError):
    """A known backend cannot load here; the message says what is missing."""

    def __init__(self, backend: str, reason: str) -> None:
        self.backend = backend
        self.reason = reason
        super().__init__(f"backend '{backend}' is unavailable: {reason}")


class KernelCompileError(BoostrError, RuntimeError):
    """A kernel failed to compile; the message carries the numbered source."""

    def __init__(self, name: str, log: str, source: str = "") -> None:
        self.name = name
        self.log = log
        self.source = source
        numbered = "\n".join(f"{i + 1:5d}  {line}" for i, line in enumerate(source.splitlines()))
        msg = f"kernel '{name}' failed to compile:\n{log}"
        if numbered:
            msg += f"\n--- source ---\n{numbered}"
        super().__init__(msg)


class FormatError(BoostrError, ValueError):
    """A model or tensor file is malformed, truncated or of an unknown type."""


__all__ = [
    "BackendUnavailable",
    "BoostrError",
    "FormatError",
    "InvalidArgument",
    "KernelCompileError",
    "UnsupportedDType",
]
