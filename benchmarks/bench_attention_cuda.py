"""CUDA flash attention: boostr's fused kernels next to torch SDPA (FLASH and cuDNN backends), one run.

    python benchmarks/bench_attention_cuda.py [--reps N] [--skip-bwd]

Rows (bf16 on the first CUDA device):
- forward B4 H16 S4096, D128 and D64, causal and full: TFLOP/s (4*B*H*S*S*D FLOPs, halved for causal)
  for boostr, torch ``sdpa_kernel(FLASH_ATTENTION)`` and ``sdpa_kernel(CUDNN_ATTENTION)``, and the
  ratios boostr / peer;
- backward, the same shapes: TFLOP/s with 2.5x the forward FLOPs (FlashAttention-2's convention);
- decode (Sq = 1), batch 8, 32 query / 8 KV heads, D128, context 32k: KV-read TB/s
  (2*B*Hkv*ctx*D*2 bytes per call), boostr contiguous vs torch (enable_gqa), and boostr's paged decode
  (block size 16, shuffled block table) against its contiguous decode, and boostr's ALiBi decode
  (``alibi_slopes=``, same shape, contiguous) against the dense one.
A backend that refuses a shape shows n/a. Target (issue 5): forward >= 0.6x torch FLASH, decode >=
2.4 TB/s, paged within 10% of contiguous. Runs in well under 90 s on an H100.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import boostr
from boostr import dtype as _dt


def _time(fn: Callable[[], Any], sync: Callable[[], None], reps: int) -> float:
    fn()
    sync()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t) / reps


def _torch() -> Any:
    try:
        import torch

        return torch if torch.cuda.is_available() else None
    except ImportError:
        return None


def _bf16(c: Any, *shape: int) -> Any:
    return c.cast(c.randn(*shape), _dt.bf16)


def _torch_run(torch: Any, backend: str, shape: tuple[int, ...], causal: bool, bwd: bool, reps: int) -> float | None:
    """Seconds per call of torch SDPA (forward, or forward+backward minus forward) on one backend."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.functional import scaled_dot_product_attention as sdpa

    b, h, hkv, sq, sk, d = shape
    which = {"FLASH": SDPBackend.FLASH_ATTENTION, "CUDNN": SDPBackend.CUDNN_ATTENTION}[backend]
    mk = lambda hh, s: torch.randn(b, hh, s, d, device="cuda", dtype=torch.bfloat16, requires_grad=bwd)  # noqa: E731
    q, k, v = mk(h, sq), mk(hkv, sk), mk(hkv, sk)
    gqa = h != hkv
    try:
        with sdpa_kernel([which]):
            if not bwd:
                with torch.no_grad():
                    return _time(lambda: sdpa(q, k, v, is_causal=causal, enable_gqa=gqa), torch.cuda.synchronize, reps)
            out = sdpa(q, k, v, is_causal=causal, enable_gqa=gqa)
            g = torch.randn_like(out)
            return _time(lambda: torch.autograd.grad(out, (q, k, v), g, retain_graph=True), torch.cuda.synchronize,
                         reps)  # fmt: skip
    except RuntimeError:  # this backend does not take the dtype / shape
        return None


def _row(name: str, vals: dict[str, float | None], unit: str) -> None:
    cells = "".join(f"{vals[p]:10.4g}" if vals[p] else f"{'n/a':>10}" for p in ("boostr", "FLASH", "CUDNN"))
    base = vals["boostr"]
    ratios = "".join(f"{base / vals[p]:10.3g}" if vals[p] and base else f"{'n/a':>10}" for p in ("FLASH", "CUDNN"))
    print(f"{name:<40}{cells}{ratios}  {unit}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--skip-bwd", action="store_true")
    args = ap.parse_args()
    cu = boostr.get_client("cuda")
    torch = _torch()
    print(f"boostr cuda: {cu.info()['name']}; torch: {torch.__version__ if torch else 'not present'}")
    print(f"{'case':<40}{'boostr':>10}{'FLASH':>10}{'CUDNN':>10}{'/FLASH':>10}{'/CUDNN':>10}  unit")
    b, h, s = 4, 16, 4096
    for bwd in (False, True):
        if bwd and args.skip_bwd:
            continue
        reps = max(1, args.reps // (5 if bwd else 1))
        for d in (128, 64):
            qkv = [_bf16(cu, b, h, s, d) for _ in range(3)]
            for causal in (True, False):
                _train_case(cu, torch, qkv, causal, bwd, reps)
    _decode(cu, torch, args.reps)


def _train_case(cu: Any, torch: Any, qkv: list[Any], causal: bool, bwd: bool, reps: int) -> None:
    q, k, v = qkv
    b, h, s, d = q.shape
    flops = 4.0 * b * h * s * s * d * (0.5 if causal else 1.0) * (2.5 if bwd else 1.0)
    if bwd:
        out, lse = cu.flash_attention_fwd(q, k, v, causal=causal)
        do = _bf16(cu, b, h, s, d)
        sec = _time(lambda: cu.flash_attention_bwd(do, q, k, v, out, lse, causal=causal), cu.sync, reps)
    else:
        sec = _time(lambda: cu.flash_attention_fwd(q, k, v, causal=causal), cu.sync, reps)
    vals: dict[str, float | None] = {"boostr": flops / sec / 1e12}
    for p in ("FLASH", "CUDNN"):
        t = _torch_run(torch, p, (b, h, h, s, s, d), causal, bwd, reps) if torch else None
        vals[p] = flops / t / 1e12 if t else None
    _row(f"{'bwd' if bwd else 'fwd'} B{b} H{h} S{s} D{d} {'causal' if causal else 'full'}", vals, "TFLOP/s")


def _decode(cu: Any, torch: Any, reps: int) -> None:
    b, h, hkv, d, ctx, bs = 8, 32, 8, 128, 32768, 16
    nbytes = 2.0 * b * hkv * ctx * d * 2
    q = _bf16(cu, b, h, 1, d)
    kv = [_bf16(cu, b, hkv, ctx, d), _bf16(cu, b, hkv, ctx, d)]
    contig = nbytes / _time(lambda: cu.flash_attention_fwd(q, kv[0], kv[1]), cu.sync, reps) / 1e12
    vals: dict[str, float | None] = {"boostr": contig}
    for p in ("FLASH", "CUDNN"):
        t = _torch_run(torch, p, (b, h, hkv, 1, ctx, d), False, False, reps) if torch else None
        vals[p] = nbytes / t / 1e12 if t else None
    _row(f"decode B{b} {h}/{hkv} D{d} ctx{ctx}", vals, "TB/s KV read")
    sl = cu.alibi_slopes(h)
    alibi = nbytes / _time(lambda: cu.flash_attention_fwd(q, kv[0], kv[1], alibi_slopes=sl), cu.sync, reps) / 1e12
    print(f"{'alibi decode (same shape)':<40}{alibi:10.4g}  TB/s KV read; alibi / dense = {alibi / contig:.3f}")
    kv.clear()  # free the contiguous cache before the paged one
    mb = ctx // bs
    n = b * mb
    kb, vb = _bf16(cu, n, bs, hkv, d), _bf16(cu, n, bs, hkv, d)
    table = cu.from_numpy(np.random.default_rng(0).permutation(n).reshape(b, mb).astype(np.int64))
    lens = cu.from_numpy(np.full(b, ctx, np.int64))
    q3 = q.reshape(b, h, d)
    paged = nbytes / _time(lambda: cu.paged_attention_fwd(q3, kb, vb, table, lens), cu.sync, reps) / 1e12
    print(f"{'paged decode (bs 16, shuffled blocks)':<40}{paged:10.4g}  TB/s KV read; paged / contiguous = "
          f"{paged / contig:.3f} (target >= 0.9)")  # fmt: skip


if __name__ == "__main__":
    main()
