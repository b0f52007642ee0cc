"""The CPU runtime: numpy buffers, numpy where it is already the best tool, numba
kernels (``boostr/kernels/cpu``) where one fused pass wins."""

from __future__ import annotations

from .client import CpuClient


def probe() -> str | None:
    return None


def device_count() -> int:
    return 1


def create_client(index: int = 0) -> CpuClient:
    return CpuClient(index)


__all__ = ["CpuClient", "create_client", "device_count", "probe"]
