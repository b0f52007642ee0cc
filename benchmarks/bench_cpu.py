"""boostr CPU against numpy (and torch CPU when importable), in one run.

Usage: ``python benchmarks/bench_cpu.py [--markdown] [--quick]``

Each case is warmed up (numba compiles, caches fill), then timed as the median
of several repeats (a fixed number of calls per repeat for the tiny-op case).
Ratios are ``peer time / boostr time``: above 1 means boostr is faster.
The numpy peers are written the natural way (no tricks); torch uses its own ops.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boostr

try:
    import torch
    import torch.nn.functional as F  # noqa: N812
except ImportError:  # torch is an optional, benchmark-only peer
    torch = None  # type: ignore[assignment]

EPS = 1e-6
Fn = Callable[[], Any]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_name() -> str:
    try:
        cfg = np.show_config(mode="dicts")  # type: ignore[func-returns-value]
        return str(cfg["Build Dependencies"]["blas"]["name"])
    except Exception:
        return "?"


def machine() -> list[str]:
    import numba

    lines = [
        f"CPU: {cpu_model()} ({os.cpu_count()} logical cores visible)",
        f"numba threads: {numba.get_num_threads()} (numba {numba.__version__})",
        f"numpy {np.__version__} (BLAS: {blas_name()}), Python {platform.python_version()}",
    ]
    if torch is not None:
        lines.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        lines.append("torch: not installed (pip install torch==2.13.0 for the CPU build)")
    return lines


def timeit(fns: dict[str, Fn], repeats: int, number: int = 1, budget_s: float = 4.0) -> dict[str, float]:
    """Median seconds per call of each fn over ``repeats`` rounds of ``number`` calls.

    Contenders run interleaved (one repeat of each per round) after two warm-up
    calls, so a burst of load from a neighbour hits all of them alike.
    """
    for fn in fns.values():
        fn()
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    start = time.perf_counter()
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - t0) / number)
        if time.perf_counter() - start > budget_s and len(times["boostr"]) >= 3:
            break
    return {name: statistics.median(ts) for name, ts in times.items()}


# ------------------------------------------------------------------ numpy peers
def np_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_rms_norm(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return x * (1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS)) * w


def np_add_rms_norm(x: np.ndarray, r: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = x + r
    return np_rms_norm(s, w), s


def np_topk(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    part = np.argpartition(-x, k - 1, axis=-1)[:, :k]
    vals = np.take_along_axis(x, part, axis=-1)
    order = np.argsort(-vals, axis=-1, kind="stable")
    return np.take_along_axis(vals, order, axis=-1), np.take_along_axis(part, order, axis=-1)


def np_sort_topk(x: np.ndarray, k: int) -> np.ndarray:
    """The full stable sort that boostr's topk used before the heap kernel."""
    cols = x.shape[1]
    return cols - 1 - np.argsort(x[:, ::-1], axis=-1, kind="stable")[:, ::-1][:, :k]


# ---------------------------------------------------------------------- cases
def cases(quick: bool) -> list[tuple[str, Fn, dict[str, Fn], int]]:
    """(name, boostr fn, {peer: fn}, repeats) for every case."""
    c = boostr.get_client("cpu")
    g = np.random.default_rng(0)
    big = 1 << 22 if quick else 1 << 24
    rows = 1024 if quick else 4096
    out: list[tuple[str, Fn, dict[str, Fn], int]] = []

    def tt(a: np.ndarray) -> Any:
        return torch.from_numpy(a) if torch is not None else None

    a, b = g.standard_normal(big, dtype=np.float32), g.standard_normal(big, dtype=np.float32)
    ba, bb, ta, tb = c.from_numpy(a), c.from_numpy(b), tt(a), tt(b)
    peers: dict[str, Fn] = {"numpy": lambda: a + b}
    if torch is not None:
        peers["torch"] = lambda: ta + tb
    out.append((f"add f32 [{big >> 20}M]", lambda: c.add(ba, bb), peers, 15))

    peers = {"numpy": lambda: a.sum()}
    if torch is not None:
        peers["torch"] = lambda: ta.sum()
    out.append((f"sum f32 [{big >> 20}M]", lambda: c.sum(ba), peers, 15))

    x = g.standard_normal((rows, 4096), dtype=np.float32)
    r = g.standard_normal((rows, 4096), dtype=np.float32)
    w = g.standard_normal(4096, dtype=np.float32)
    bx, br, bw, tx, tr, tw = c.from_numpy(x), c.from_numpy(r), c.from_numpy(w), tt(x), tt(r), tt(w)
    peers = {"numpy": lambda: np_softmax(x)}
    if torch is not None:
        peers["torch"] = lambda: torch.softmax(tx, -1)
    out.append((f"softmax f32 [{rows}x4096]", lambda: c.softmax(bx, -1), peers, 9))

    peers = {"numpy": lambda: np_rms_norm(x, w)}
    if torch is not None:
        peers["torch"] = lambda: F.rms_norm(tx, (4096,), tw, EPS)
    out.append((f"rms_norm f32 [{rows}x4096]", lambda: c.rms_norm(bx, bw, EPS), peers, 9))

    peers = {"numpy": lambda: np_add_rms_norm(x, r, w)}
    if torch is not None:
        peers["torch"] = lambda: F.rms_norm(tx + tr, (4096,), tw, EPS)
    out.append((f"add+rms_norm f32 [{rows}x4096]", lambda: c.add_rms_norm(bx, br, bw, EPS), peers, 9))

    for n in (1024, 2048):
        ma, mb = g.standard_normal((n, n), dtype=np.float32), g.standard_normal((n, n), dtype=np.float32)
        bma, bmb, tma, tmb = c.from_numpy(ma), c.from_numpy(mb), tt(ma), tt(mb)
        peers = {"numpy": lambda ma=ma, mb=mb: ma @ mb}
        if torch is not None:
            peers["torch"] = lambda tma=tma, tmb=tmb: tma @ tmb
        out.append((f"matmul f32 {n}", lambda bma=bma, bmb=bmb: c.matmul(bma, bmb), peers, 7 if n == 1024 else 5))

    table = g.standard_normal((49152, 576), dtype=np.float32)
    ids = g.integers(0, 49152, 512)
    btab, bids, ttab, tids = c.from_numpy(table), c.from_numpy(ids), tt(table), tt(ids)
    peers = {"numpy": lambda: table[ids]}
    if torch is not None:
        peers["torch"] = lambda: F.embedding(tids, ttab)
    out.append(("embedding 49152x576, 512 ids", lambda: c.embedding(btab, bids), peers, 51))

    tk = g.standard_normal((8, 32768), dtype=np.float32)
    btk, ttk = c.from_numpy(tk), tt(tk)
    peers = {"numpy": lambda: np_topk(tk, 64), "numpy full sort": lambda: np_sort_topk(tk, 64)}
    if torch is not None:
        peers["torch"] = lambda: torch.topk(ttk, 64, -1)
    out.append(("topk k=64, 8 rows x 32768", lambda: c.topk(btk, 64), peers, 21))

    s1, s2 = np.ones(1, np.float32), np.ones(1, np.float32)
    bs1, bs2, ts1, ts2 = c.from_numpy(s1), c.from_numpy(s2), tt(s1), tt(s2)
    peers = {"numpy": lambda: s1 + s2}
    if torch is not None:
        peers["torch"] = lambda: ts1 + ts2
    out.append(("tiny add [1]+[1] (overhead)", lambda: c.add(bs1, bs2), peers, -7))
    return out


def fmt_time(s: float) -> str:
    return f"{s * 1e6:.2f} us" if s < 1e-3 else f"{s * 1e3:.2f} ms"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="print a markdown table (for RESULTS.md)")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, not for RESULTS.md)")
    args = ap.parse_args(argv)
    info = machine()
    peer_names = ["numpy", "numpy full sort"] + (["torch"] if torch is not None else [])
    rows = []
    for name, fn, peers, repeats in cases(args.quick):
        number = 2000 if repeats < 0 else 1
        reps = abs(repeats)
        res = timeit({"boostr": fn, **peers}, reps, number)
        rows.append((name, res.pop("boostr"), res))
        print(f"  measured {name}", file=sys.stderr)
    header = ["case", "boostr"] + [f"{p} (x)" for p in peer_names]
    body = []
    for name, t_b, res in rows:
        cells = [name, fmt_time(t_b)]
        for p in peer_names:
            cells.append(f"{fmt_time(res[p])} ({res[p] / t_b:.2f}x)" if p in res else "-")
        body.append(cells)
    if args.markdown:
        for line in info:
            print(f"- {line}")
        print()
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for cells in body:
            print("| " + " | ".join(cells) + " |")
    else:
        print("\n".join(info))
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        for cells in [header, *body]:
            print("  ".join(cell.ljust(wd) for cell, wd in zip(cells, widths, strict=True)))
    print("\n(x) = peer time / boostr time: above 1 means boostr is faster. Median of interleaved repeats.")


if __name__ == "__main__":
    main()
