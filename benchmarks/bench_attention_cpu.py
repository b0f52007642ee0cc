"""CPU flash attention: boostr (numba) next to torch CPU ``scaled_dot_product_attention``, in one run.

Cases: forward f32 B1 H8 S512 D64 causal and non-causal, the same with ALiBi (causal; torch gets
the bias as a float ``attn_mask``), the backward of the plain ones (torch: ``out.backward``
through SDPA; 10*B*H*S*S*D FLOPs, halved for causal); decode (Sq = 1, context 4096, 32 query
heads / 8 KV heads, D128). Prints median times, GFLOP/s (4*B*H*Sq*Sk*D,
halved for causal) or KV read GB/s for decode, the ratio boostr/torch speed (> 1 is faster) and
the machine. torch is a benchmark-only peer: ``pip install torch==2.13.0`` (CPU wheel).

Run: ``python benchmarks/bench_attention_cpu.py [--repeat N] [--threads N]``; the header names the
machine and the load average before and after (the dev VM is shared: compare within a run).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import boostr

STAT: Callable[[list[float]], float] = statistics.median


def _median_s(fn: Callable[[], object], repeat: int) -> float:
    """Median (or, with ``--stat min``, best) wall time of ``repeat`` calls after two warm-ups."""
    fn()
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return STAT(times)


def _machine() -> str:
    import numba

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, numba {numba.__version__} ({numba.get_num_threads()} threads)"


def _cases(rng: np.random.Generator) -> list[tuple[str, str, float, dict[str, Any], tuple[np.ndarray, ...]]]:
    b, h, s, d = 1, 8, 512, 64
    qkv = tuple(rng.standard_normal((b, h, s, d)).astype(np.float32) for _ in range(3))
    out = []
    for causal in (False, True):
        flops = 4.0 * b * h * s * s * d * (0.5 if causal else 1.0)
        name = f"fwd f32 B1 H8 S512 D64 {'causal' if causal else 'full'}"
        out.append((name, " GF/s", flops, {"causal": causal}, qkv))
    out.append(
        ("fwd f32 B1 H8 S512 D64 alibi causal", " GF/s", 2.0 * b * h * s * s * d, {"causal": True, "alibi": True}, qkv)
    )
    for causal in (False, True):
        flops = 10.0 * b * h * s * s * d * (0.5 if causal else 1.0)
        name = f"bwd f32 B1 H8 S512 D64 {'causal' if causal else 'full'}"
        out.append((name, " GF/s", flops, {"causal": causal, "bwd": True}, qkv))
    hq, hkv, ctx, dd = 32, 8, 4096, 128
    dec = (
        rng.standard_normal((1, hq, 1, dd)).astype(np.float32),
        rng.standard_normal((1, hkv, ctx, dd)).astype(np.float32),
        rng.standard_normal((1, hkv, ctx, dd)).astype(np.float32),
    )
    out.append(("decode f32 ctx4096 GQA 32/8 D128", " GB/s", 2.0 * hkv * ctx * dd * 4, {"causal": True}, dec))
    return out


def _alibi_causal_mask(h: int, s: int) -> np.ndarray:
    """``[1, H, S, S]`` f32: ALiBi ``-slope_h (i - j)`` on and below the diagonal, -inf above (torch's attn_mask)."""
    from boostr.testing.attention_refs import alibi_slopes_ref

    i = np.arange(s)[:, None]
    j = np.arange(s)[None, :]
    bias = -alibi_slopes_ref(h)[:, None, None] * (i - j)[None]
    return np.where(j <= i, bias, -np.inf)[None].astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="numba and torch threads (default: all)")
    ap.add_argument("--stat", choices=("median", "min"), default="median", help="statistic over the repeats")
    args = ap.parse_args()
    global STAT
    STAT = min if args.stat == "min" else statistics.median
    load0 = os.getloadavg()[0]
    if args.threads:
        import numba

        numba.set_num_threads(args.threads)
    c = boostr.get_client("cpu")
    cases = _cases(np.random.default_rng(0))
    # boostr first, then torch: two OpenMP runtimes in one process contend when interleaved
    mine: list[float | None] = []
    for _, _, _, kw, arrs in cases:
        q, k, v = (c.from_numpy(a) for a in arrs)
        causal = kw["causal"]
        if kw.get("bwd"):
            o, lse = c.flash_attention_fwd(q, k, v, causal=causal)
            do = c.from_numpy(np.ones(q.shape, np.float32))
            fn = lambda do=do, q=q, k=k, v=v, o=o, lse=lse, causal=causal: c.flash_attention_bwd(  # noqa: E731
                do, q, k, v, o, lse, causal=causal
            )
        elif kw.get("alibi"):
            sl = c.alibi_slopes(q.shape[1])
            fn = lambda q=q, k=k, v=v, sl=sl: c.flash_attention_fwd(q, k, v, causal=True, alibi_slopes=sl)  # noqa: E731
        else:
            fn = lambda q=q, k=k, v=v, causal=causal: c.flash_attention_fwd(q, k, v, causal=causal)  # noqa: E731
        try:
            mine.append(_median_s(fn, args.repeat))
        except TypeError:  # an older boostr without this option (e.g. alibi_slopes)
            mine.append(None)
    theirs: list[float | None] = [None] * len(cases)
    try:
        import torch
        import torch.nn.functional as F  # noqa: N812

        if args.threads:
            torch.set_num_threads(args.threads)
        peer = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
        for i, (_, _, _, kw, arrs) in enumerate(cases):
            tq, tk, tv = (torch.from_numpy(a.copy()).requires_grad_(bool(kw.get("bwd"))) for a in arrs)
            gqa = tq.shape[1] != tk.shape[1]
            causal = kw["causal"] and tq.shape[2] > 1
            if kw.get("bwd"):
                tout = F.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
                tdo = torch.ones_like(tout)
                theirs[i] = _median_s(lambda tout=tout, tdo=tdo: tout.backward(tdo, retain_graph=True), args.repeat)
                continue
            if kw.get("alibi"):
                mask = torch.from_numpy(_alibi_causal_mask(tq.shape[1], tq.shape[2]))
                with torch.no_grad():
                    theirs[i] = _median_s(
                        lambda tq=tq, tk=tk, tv=tv, mask=mask: F.scaled_dot_product_attention(
                            tq, tk, tv, attn_mask=mask
                        ),
                        args.repeat,
                    )
                continue
            with torch.no_grad():
                theirs[i] = _median_s(
                    lambda tq=tq, tk=tk, tv=tv, causal=causal, gqa=gqa: F.scaled_dot_product_attention(
                        tq, tk, tv, is_causal=causal, enable_gqa=gqa
                    ),
                    args.repeat,
                )
    except ImportError:
        peer = "torch not installed (pip install torch==2.13.0)"
    print(f"machine: {_machine()}")
    print(f"load:    {load0:.2f} before, {os.getloadavg()[0]:.2f} after (1-minute load average); {args.stat} times")
    print(f"peer:    {peer}")
    print(f"{'case':<37}{'boostr ms':>10}{'torch ms':>10}{'boostr':>14}{'torch':>14}{'ratio':>8}")
    for (name, unit, work, _, _), t_b, t_t in zip(cases, mine, theirs):
        tb = f"{t_b * 1e3:10.3f}" if t_b else f"{'-':>10}"
        tt = f"{t_t * 1e3:10.3f}" if t_t else f"{'-':>10}"
        rb = f"{work / t_b / 1e9:9.1f}{unit}" if t_b else f"{'-':>14}"
        rt = f"{work / t_t / 1e9:9.1f}{unit}" if t_t else f"{'-':>14}"
        ratio = f"{t_t / t_b:7.2f}x" if t_t and t_b else f"{'-':>8}"
        print(f"{name:<37}{tb}{tt}{rb}{rt}{ratio}")
    print("ratio = torch time / boostr time (> 1: boostr faster)")


if __name__ == "__main__":
    main()
