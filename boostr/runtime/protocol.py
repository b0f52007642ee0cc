"""The Runtime / Device / Client protocols.

``Client`` is the whole public op surface: every primitive (``boostr.ops.traits``)
and, as they land, the extension traits. Backend authors implement
``boostr.runtime.hooks.KernelHooks`` and inherit ``ClientBase``; this module states
what callers may rely on.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ..dtype import DType
from ..ops.traits import ALL_TRAITS
from ..tensor import Tensor


@runtime_checkable
class Device(Protocol):
    """A device of one backend: ``name`` like ``cuda:0``."""

    kind: str
    index: int
    device_name: str


@runtime_checkable
class Runtime(Protocol):
    """A backend package: probes availability and makes clients."""

    def probe(self) -> str | None: ...

    def device_count(self) -> int: ...

    def create_client(self, index: int) -> Any: ...


@runtime_checkable
class Client(Device, Protocol):
    """A device plus every op. The primitive op names are ``client_op_names()``."""

    storage_dtypes: frozenset[DType]
    compute_dtypes: frozenset[DType]
    default_int: DType

    def from_numpy(self, arr: Any, dtype: DType | str | None = None) -> Tensor: ...

    def to_numpy(self, x: Tensor) -> Any: ...

    def sync(self) -> None: ...

    def info(self) -> dict[str, Any]: ...


def client_op_names() -> list[str]:
    """Every public op a Client must offer (from the trait classes)."""
    names: set[str] = set()
    for trait in ALL_TRAITS:
        names.update(n for n in vars(trait) if not n.startswith("_") and callable(getattr(trait, n)))
    return sorted(names)
