"""Adapter enumeration and device creation (full limits, offered optional features)."""

from __future__ import annotations

import functools
import os
from typing import Any

from ...errors import BackendUnavailable

WANTED_FEATURES = ("shader-f16", "subgroup", "timestamp-query")
_TYPE_RANK = {"DiscreteGPU": 0, "IntegratedGPU": 1, "VirtualGPU": 2, "CPU": 3}
_BACKEND_RANK = {"Vulkan": 0, "Metal": 0, "D3D12": 0, "OpenGL": 2}


def adapter_name(adapter: Any) -> str:
    info = adapter.info
    return str(info.get("device") or info.get("description") or "adapter")


@functools.lru_cache(maxsize=1)
def adapters() -> tuple[Any, ...]:
    """Enumerated adapters, best first, filtered by ``BOOSTR_WGPU_ADAPTER`` (name substring)."""
    import wgpu

    found = list(wgpu.gpu.enumerate_adapters_sync())
    want = os.environ.get("BOOSTR_WGPU_ADAPTER", "").strip().lower()
    if want:
        found = [a for a in found if want in f"{adapter_name(a)} {a.info.get('backend_type', '')}".lower()]
    found.sort(
        key=lambda a: (
            _TYPE_RANK.get(str(a.info.get("adapter_type")), 4),
            _BACKEND_RANK.get(str(a.info.get("backend_type")), 1),
        )
    )
    return tuple(found)


def open_device(index: int, mask_features: frozenset[str] = frozenset()) -> tuple[Any, Any, frozenset[str]]:
    """``(adapter, device, features)`` for adapter ``index``; ``mask_features`` are not requested."""
    found = adapters()
    if not 0 <= index < len(found):
        raise BackendUnavailable(f"wgpu:{index}", f"{len(found)} adapter(s) found")
    adapter = found[index]
    offered = set(adapter.features)
    feats = [f for f in WANTED_FEATURES if f in offered and f not in mask_features]
    limits = {k: v for k, v in dict(adapter.limits).items() if v}
    try:
        device = adapter.request_device_sync(required_features=feats, required_limits=limits)
    except Exception as exc:
        raise BackendUnavailable(f"wgpu:{index}", f"request_device failed on {adapter_name(adapter)}: {exc}") from exc
    return adapter, device, frozenset(feats)
