"""Kernel source files: loading, a tiny template step for dtype variants, and hashing.

Sources are real files under ``boostr/kernels/{cuda,wgsl}``. A source may hold
``${NAME}`` placeholders (``string.Template`` syntax; ``$$`` is a literal ``$``)
that ``render`` fills, e.g. ``${T}`` -> ``f32`` / ``f16``, so one file serves every
dtype. ``#include "file"`` lines (CUDA ``.cuh`` or WGSL helpers) are expanded
relative to the including file, once per file.

Compiled-kernel caches key on ``source_hash(rendered, options, arch, compiler)``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from string import Template

from ..errors import InvalidArgument

KERNELS_DIR = Path(__file__).resolve().parent
_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$', re.MULTILINE)


@functools.cache
def read_source(relpath: str) -> str:
    """The text of ``boostr/kernels/<relpath>`` with ``#include "..."`` lines expanded."""
    path = (KERNELS_DIR / relpath).resolve()
    if KERNELS_DIR not in path.parents or not path.is_file():
        raise InvalidArgument("relpath", f"no kernel source {relpath!r} under {KERNELS_DIR}")
    return _expand(path, set())


def _expand(path: Path, seen: set[Path]) -> str:
    seen.add(path)

    def repl(m: re.Match[str]) -> str:
        inc = (path.parent / m.group(1)).resolve()
        if inc in seen:
            return ""
        if not inc.is_file():
            raise InvalidArgument("source", f"{path.name} includes missing file {m.group(1)!r}")
        return _expand(inc, seen)

    return _INCLUDE.sub(repl, path.read_text())


def render(relpath: str, **params: object) -> str:
    """``read_source(relpath)`` with ``${NAME}`` placeholders filled from ``params``."""
    text = read_source(relpath)
    try:
        return Template(text).substitute({k: str(v) for k, v in params.items()})
    except KeyError as exc:
        raise InvalidArgument("params", f"{relpath} needs template parameter {exc.args[0]!r}") from exc
    except ValueError as exc:
        raise InvalidArgument("params", f"{relpath}: bad template placeholder ({exc})") from exc


def source_hash(text: str, *parts: object) -> str:
    """A stable hex digest of a rendered source plus compile options / arch / compiler version."""
    h = hashlib.sha256(text.encode())
    for p in parts:
        h.update(b"\0")
        h.update(repr(p).encode())
    return h.hexdigest()[:24]
