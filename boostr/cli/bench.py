"""``boostr bench``: run the CPU benchmark runner of a source checkout (``benchmarks/bench_cpu.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any


def runner_path() -> Path:
    """Where ``benchmarks/bench_cpu.py`` sits in a source checkout (it is not installed with the package)."""
    return Path(__file__).resolve().parents[2] / "benchmarks" / "bench_cpu.py"


def add_parser(sub: Any) -> None:
    sub.add_parser("bench", help="run benchmarks/bench_cpu.py (boostr CPU vs numpy/torch); needs a source checkout")


def run_runner(argv: list[str]) -> int:
    """Run the runner with ``argv``; its exit status, or 1 outside a source checkout."""
    path = runner_path()
    if not path.is_file():
        print(
            f"boostr bench: {path} not found. The benchmark runners live in a source checkout of boostr "
            "(git clone, then `make bench` or `boostr bench` from an editable install).",
            file=sys.stderr,
        )
        return 1
    return subprocess.call([sys.executable, str(path), *argv], cwd=path.parent.parent)
