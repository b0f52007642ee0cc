"""``boostr info``: backends and devices found here, library versions, features, or why not."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import textwrap
from typing import Any

# (import name, distribution names to try). Versions come from package metadata, so
# nothing heavy (cupy, wgpu) is imported outside its backend folder.
LIBRARIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("numpy", ("numpy",)),
    ("numba", ("numba",)),
    ("ml_dtypes", ("ml_dtypes", "ml-dtypes")),
    ("gguf", ("gguf",)),
    ("safetensors", ("safetensors",)),
    ("tqdm", ("tqdm",)),
    ("cupy", ("cupy-cuda13x", "cupy-cuda12x", "cupy-cuda11x", "cupy")),
    ("wgpu", ("wgpu",)),
    ("torch", ("torch",)),
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("info", help="backends, devices, library versions and features on this machine")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=run)


def library_versions() -> dict[str, str | None]:
    """``{import name: "version (distribution)"}`` for installed libraries, None when absent."""
    out: dict[str, str | None] = {}
    for name, dists in LIBRARIES:
        if importlib.util.find_spec(name) is None:
            out[name] = None
            continue
        version = "installed"
        for dist in dists:
            try:
                version = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
            if dist != name:
                version += f" ({dist})"
            break
        out[name] = version
    return out


def backend_report(kind: str) -> dict[str, Any]:
    """``{"available": bool, "reason": str | None, "devices": [{name, info...}]}`` for one backend kind."""
    from ..runtime.registry import backend_status, get_client

    reason = backend_status(kind)
    report: dict[str, Any] = {"available": reason is None, "reason": reason, "devices": []}
    if reason is not None:
        return report
    try:
        count = int(importlib.import_module(f"boostr.runtime.{kind}").device_count())
    except Exception as exc:
        report["available"], report["reason"] = False, f"device_count failed: {type(exc).__name__}: {exc}"
        return report
    for index in range(count):
        name = "cpu" if kind == "cpu" else f"{kind}:{index}"
        try:
            info = dict(get_client(name).info())
        except Exception as exc:
            info = {"error": f"{type(exc).__name__}: {exc}"}
        report["devices"].append({"name": name, **info})
    return report


def collect() -> dict[str, Any]:
    """Everything ``boostr info`` prints, as plain data."""
    import boostr

    from ..config import BACKEND_KINDS, resolve_backend

    try:
        selected: str | None = resolve_backend()
    except ValueError as exc:
        selected = f"invalid: {exc}"
    return {
        "boostr": boostr.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "selected_backend": selected,
        "env": {k: os.environ.get(k) for k in ("BOOSTR_BACKEND", "BOOSTR_CACHE_DIR", "NUMBA_CACHE_DIR")},
        "libraries": library_versions(),
        "backends": {kind: backend_report(kind) for kind in BACKEND_KINDS},
    }


def _fmt(value: Any) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in value) if value else "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) if value else "-"
    return str(value)


def render(data: dict[str, Any]) -> str:
    lines = [
        f"boostr {data['boostr']}  python {data['python']}  {data['platform']}",
        f"selected backend: {data['selected_backend']}",
    ]
    env = {k: v for k, v in data["env"].items() if v}
    if env:
        lines.append("environment: " + _fmt(env))
    lines.append("")
    lines.append("libraries:")
    for name, version in data["libraries"].items():
        lines.append(f"  {name:<12} {version or 'not installed'}")
    lines.append("")
    lines.append("backends:")
    for kind, rep in data["backends"].items():
        if not rep["available"]:
            lines.append(f"  {kind:<5} unavailable: {rep['reason']}")
            continue
        lines.append(f"  {kind:<5} available, {len(rep['devices'])} device(s)")
        for dev in rep["devices"]:
            lines.append(f"    {dev['name']}:")
            for key, value in dev.items():
                if key != "name":
                    text = textwrap.wrap(_fmt(value), width=90, break_on_hyphens=False) or [""]
                    lines.append(f"      {key:<22} {text[0]}")
                    lines.extend(f"      {'':<22} {more}" for more in text[1:])
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    data = collect()
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        print(render(data))
    return 0
