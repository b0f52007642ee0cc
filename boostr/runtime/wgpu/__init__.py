"""The WebGPU runtime: wgpu-py devices, pooled storage buffers and WGSL kernels.

Devices are the adapters wgpu enumerates (``wgpu:0`` is the best one: discrete
before integrated before CPU adapters, Vulkan/Metal/DX12 before OpenGL).
``BOOSTR_WGPU_ADAPTER=<substring>`` keeps only adapters whose name contains it.
``wgpu`` is imported lazily, so importing boostr without it installed works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import WgpuClient


def probe() -> str | None:
    """None when a WebGPU adapter is usable, else why not (never raises)."""
    try:
        import wgpu  # noqa: F401
    except ImportError:
        return "wgpu-py is not installed (pip install wgpu)"
    except Exception as exc:
        return f"wgpu failed to import: {exc}"
    try:
        from .device import adapters

        found = adapters()
    except Exception as exc:
        return f"wgpu could not enumerate adapters: {exc}"
    if not found:
        return "no WebGPU adapter found (install a Vulkan/Metal/DX12 driver, or Mesa's lavapipe)"
    return None


def device_count() -> int:
    """Number of usable adapters (after the BOOSTR_WGPU_ADAPTER filter)."""
    from .device import adapters

    return len(adapters())


def create_client(index: int = 0) -> WgpuClient:
    """A client on adapter ``index`` (its own wgpu device, full limits, offered features)."""
    from .client import WgpuClient

    return WgpuClient(index)


__all__ = ["create_client", "device_count", "probe"]
