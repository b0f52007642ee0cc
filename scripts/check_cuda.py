#!/usr/bin/env python3
"""Compile-check every CUDA kernel variant boostr renders, with the local nvcc, for sm_80 and sm_90.

Usage: ``python scripts/check_cuda.py [--arch sm_80 --arch sm_90] [--jobs N]``. Renders each
(kernel file, template parameters) pair from ``boostr.ops.cuda._variants`` exactly as the
backend does (includes expanded, ``${...}`` filled), runs ``nvcc -ptx -arch=<arch>`` on it and
exits non-zero listing every failure with nvcc's log. No GPU is needed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from boostr.kernels.sources import render, source_hash  # noqa: E402
from boostr.ops.cuda._variants import kernel_variants  # noqa: E402
from boostr.runtime.cuda.kernels import OPTIONS  # noqa: E402


def _check(nvcc: str, rel: str, params: tuple[tuple[str, object], ...], arch: str, tmp: Path) -> str | None:
    src = render(rel, **dict(params))
    tag = source_hash(repr(params))[:12] if params else "plain"  # values may be long tables
    cu = tmp / f"{rel.replace('/', '_')}_{tag}_{arch}.cu"
    cu.write_text(src)
    cmd = [nvcc, "-ptx", f"-arch={arch}", *OPTIONS, "-diag-suppress=186", "-o", str(cu.with_suffix(".ptx")), str(cu)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        return f"{rel} {dict(params)} [{arch}]\n{res.stderr.strip()}"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", action="append", help="target arch (default: sm_80 and sm_90)")
    ap.add_argument("--jobs", type=int, default=4)
    args = ap.parse_args()
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        print("nvcc not found on PATH: install the CUDA toolkit to compile-check the kernels", file=sys.stderr)
        return 2
    archs = args.arch or ["sm_80", "sm_90"]
    variants = list(dict.fromkeys(kernel_variants()))
    with tempfile.TemporaryDirectory() as d, ThreadPoolExecutor(args.jobs) as pool:
        jobs = [pool.submit(_check, nvcc, rel, params, arch, Path(d)) for rel, params in variants for arch in archs]
        failures = [f for f in (j.result() for j in jobs) if f]
    print(f"{len(variants)} kernel variants x {len(archs)} archs ({', '.join(archs)}): {len(failures)} failed")
    for f in failures:
        print("\n" + f)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
