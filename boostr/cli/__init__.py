"""The ``boostr`` command line: ``boostr info | demo | conformance | bench | generate | chat | quantize``.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and
``run(args) -> int``; ``main(argv)`` returns the exit status (2 for usage errors,
such as an unknown backend name).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..config import normalize_backend


def backend_arg(value: str) -> str:
    """argparse ``type=`` for ``--backend``: a normalized name, or a usage error (exit 2)."""
    try:
        return normalize_backend(value)
    except ValueError as exc:  # InvalidArgument is a ValueError too
        raise argparse.ArgumentTypeError(str(exc)) from exc


def run_conformance(argv: list[str]) -> int:
    """``boostr conformance ...``: hand every argument to ``boostr.cli.conformance.main``."""
    try:
        from . import conformance
    except ImportError as exc:
        print(f"boostr conformance: the conformance runner could not be imported: {exc}", file=sys.stderr)
        return 1
    return int(conformance.main(argv) or 0)


def run_bench(argv: list[str]) -> int:
    """``boostr bench ...``: hand every argument to ``benchmarks/bench_cpu.py``."""
    from . import bench

    return bench.run_runner(argv)


# Subcommands whose arguments belong to another program: passed through untouched.
PASSTHROUGH = {"conformance": run_conformance, "bench": run_bench}


def build_parser() -> argparse.ArgumentParser:
    from . import bench, demo, generate, info, quantize

    parser = argparse.ArgumentParser(
        prog="boostr", description="boostr: one Client protocol, three backends (cpu, cuda, wgpu)."
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"boostr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    info.add_parser(sub)
    demo.add_parser(sub)
    sub.add_parser(
        "conformance", help="op x backend x dtype matrix of the conformance cases here (args: see its --help)"
    )
    bench.add_parser(sub)
    generate.add_parser(sub)
    quantize.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``boostr`` command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in PASSTHROUGH:
        return PASSTHROUGH[args_list[0]](args_list[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse: --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    return int(args.func(args))


__all__ = ["backend_arg", "build_parser", "main", "run_bench", "run_conformance"]
