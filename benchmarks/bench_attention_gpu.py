"""GPU flash attention: boostr wgpu (WGSL) next to boostr CUDA and torch SDPA (FLASH and cuDNN backends),
in one run.

    python benchmarks/bench_attention_gpu.py            # full sizes (the H100)
    python benchmarks/bench_attention_gpu.py --small    # software adapter sizes (lavapipe)

Rows: forward f16 and f32, B4 H16 S4096 D128 causal / non-causal and D64 (TFLOP/s, 4*B*H*S*S*D
FLOPs, halved for causal); decode attention (Sq = 1, batch 8, 32 query / 8 KV heads, D128, context
32k) as KV-read GB/s (2*B*Hkv*ctx*D*bytes per call). Peers appear when present: boostr CUDA when the
``cuda`` backend loads, torch SDPA when torch sees a CUDA device (``sdpa_kernel`` FLASH and
CUDNN_ATTENTION; a backend that refuses a dtype or shape shows n/a). A CUDA client without a fused
attention kernel (the generic composite) is not timed. ``--peers torch`` skips boostr CUDA.
Ratios are wgpu / peer speed.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from _common import wall_time as _time

import boostr
from boostr.ops.traits.attention import AttentionOps


def _client(kind: str) -> Any:
    try:
        return boostr.get_client(kind)
    except Exception:
        return None


def _torch() -> Any:
    try:
        import torch

        return torch if torch.cuda.is_available() else None
    except ImportError:
        return None


def _cases(small: bool) -> tuple[list[tuple[str, tuple[int, ...], bool, float, str]], int]:
    """``(name, (B, H, Hkv, Sq, Sk, D), causal, work, unit)`` per row and the repetition count."""
    b, h, s = (1, 4, 256) if small else (4, 16, 4096)
    rows = []
    for d in (128, 64):
        for causal in (True, False):
            flops = 4.0 * b * h * s * s * d * (0.5 if causal else 1.0)
            rows.append((f"B{b} H{h} S{s} D{d} {'causal' if causal else 'full'}", (b, h, h, s, s, d), causal,
                         flops / 1e12, "TFLOP/s"))  # fmt: skip
    db, dh, dkv, ctx = (2, 8, 2, 2048) if small else (8, 32, 8, 32768)
    rows.append((f"decode B{db} {dh}/{dkv} D128 ctx{ctx}", (db, dh, dkv, 1, ctx, 128), True, 0.0, "GB/s"))
    return rows, (2 if small else 10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--small", action="store_true", help="sizes for a software adapter")
    ap.add_argument("--reps", type=int, default=0)
    ap.add_argument("--peers", default="cuda,torch", help="comma list of peers to run: cuda, torch")
    args = ap.parse_args()
    cases, reps = _cases(args.small)
    reps = args.reps or reps
    want = set(args.peers.split(","))
    wg = _client("wgpu")
    cu = _client("cuda") if "cuda" in want else None
    cu_note = "boostr cuda " + cu.device_name if cu is not None else "boostr cuda backend not available (or not asked)"
    if cu is not None and type(cu)._flash_attention_fwd is AttentionOps._flash_attention_fwd:
        cu_note, cu = "boostr cuda runs the generic composite for attention (no fused kernel yet): not timed", None
    torch = _torch() if "torch" in want else None
    if wg is None:
        raise SystemExit("the wgpu backend is not available here")
    info = wg.info()
    print(f"wgpu:  {info['adapter']} ({info['backend']}, {info['adapter_type']}), features {info['features']}, "
          f"workgroup storage {info['limits']['max-compute-workgroup-storage-size']} B")  # fmt: skip
    print(f"cuda:  {cu_note}")
    tname = f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}" if torch else "torch + CUDA not present"
    print(f"torch: {tname}")
    rng = np.random.default_rng(0)
    peers = ["cuda", "FLASH", "CUDNN"]
    print(f"{'case':<34}{'dtype':>6}{'wgpu':>10}" + "".join(f"{p:>10}" for p in peers)
          + "".join(f"{'/' + p:>9}" for p in peers) + "  unit")  # fmt: skip
    for name, (b, h, hkv, sq, sk, d), causal, work, unit in cases:
        for dt in ("f16", "f32"):
            if dt not in {x.name for x in wg.compute_dtypes}:
                continue
            npdt = np.float16 if dt == "f16" else np.float32
            arrs = [rng.standard_normal(x).astype(npdt) for x in ((b, h, sq, d), (b, hkv, sk, d), (b, hkv, sk, d))]
            if unit == "GB/s":
                work = 2.0 * b * hkv * sk * d * np.dtype(npdt).itemsize / 1e9
            res: dict[str, float | None] = {"wgpu": _boostr_case(wg, arrs, causal, work, reps), "cuda": None}
            if cu is not None:
                try:
                    res["cuda"] = _boostr_case(cu, arrs, causal, work, reps)
                except Exception as exc:  # a dtype the CUDA backend does not compute, out of memory...
                    print(f"  boostr cuda {name} {dt}: {type(exc).__name__}: {str(exc)[:100]}")
            for p in ("FLASH", "CUDNN"):
                res[p] = _torch_case(torch, p, arrs, causal and sq > 1, work, reps) if torch else None
            vals = "".join(f"{res[p]:10.4g}" if res[p] else f"{'n/a':>10}" for p in ["wgpu", *peers])
            ratios = "".join(f"{res['wgpu'] / res[p]:9.3g}" if res[p] else f"{'n/a':>9}" for p in peers)
            print(f"{name:<34}{dt:>6}{vals}{ratios}  {unit}")
    print("ratio = wgpu speed / peer speed (> 1: wgpu faster)")


def _boostr_case(c: Any, arrs: list[np.ndarray], causal: bool, work: float, reps: int) -> float:
    q, k, v = (c.from_numpy(a) for a in arrs)
    return work / _time(lambda: c.flash_attention_fwd(q, k, v, causal=causal), c.sync, reps)


def _torch_case(torch: Any, backend: str, arrs: list[np.ndarray], causal: bool, work: float, reps: int) -> float | None:
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.functional import scaled_dot_product_attention as sdpa

    which = {"FLASH": SDPBackend.FLASH_ATTENTION, "CUDNN": SDPBackend.CUDNN_ATTENTION}[backend]
    q, k, v = (torch.from_numpy(a).cuda() for a in arrs)
    gqa = q.shape[1] != k.shape[1]
    try:
        with sdpa_kernel([which]), torch.no_grad():
            return work / _time(lambda: sdpa(q, k, v, is_causal=causal, enable_gqa=gqa), torch.cuda.synchronize, reps)
    except RuntimeError:  # this backend does not take the dtype / shape
        return None


if __name__ == "__main__":
    main()
