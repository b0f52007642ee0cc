#!/usr/bin/env bash
# The GPU-machine check: precompile every CUDA kernel variant, run the test suite once per GPU
# backend (cuda and wgpu side by side, one process each, cpu,cuda,wgpu all required to load),
# then the GPU benchmarks. Logs go to $OUT (the device tool's result folder) as they are written,
# so a run cut short still leaves its progress.
# Usage (device tool): source .device/setup.sh; bash scripts/gpu_check.sh [bench]
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-/tmp/numba-cache}
export BOOSTR_CACHE_DIR=${BOOSTR_CACHE_DIR:-/tmp/boostr-cache}
export BOOSTR_REQUIRE_BACKENDS=cpu,cuda,wgpu
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 - <<'PY' 2>&1 | tee "$OUT/precompile.log"
import time
from concurrent.futures import ThreadPoolExecutor
import boostr
from boostr.ops.cuda._variants import kernel_variants
c = boostr.get_client("cuda")
t = time.perf_counter()
vs = list(kernel_variants())
with ThreadPoolExecutor(16) as ex:
    list(ex.map(lambda v: c.kernels._module(*v), vs))
print(f"precompiled {len(vs)} CUDA modules in {time.perf_counter() - t:.1f} s")
PY
TESTS=${TESTS:-tests/conformance tests/backends}
for be in ${BACKENDS:-cuda wgpu}; do
    BOOSTR_TEST_BACKENDS=$be timeout "${TEST_TIMEOUT:-300}" python3 -m pytest -q -p no:cacheprovider -p no:benchmark \
        -rfE --durations=15 $TESTS > "$OUT/tests_$be.log" 2>&1 &
done
wait
for be in ${BACKENDS:-cuda wgpu}; do
    echo "== $be: $(grep -E '^[.sFEx]+( +\[ *[0-9]+%\])?$' "$OUT/tests_$be.log" | tr -cd '.sFEx' | \
        python3 -c 'import sys,collections; print(dict(collections.Counter(sys.stdin.read())))')"
    grep -E "passed|failed" "$OUT/tests_$be.log" | tail -n 1
    grep -E "^FAILED|^ERROR" "$OUT/tests_$be.log" | head -n 30
done
if [ "${1:-}" = "bench" ]; then
    for b in ${BENCHES:-bench_cuda bench_wgpu}; do
        timeout "${BENCH_TIMEOUT:-100}" python3 "benchmarks/$b.py" ${BENCH_ARGS:-} 2>&1 | tee "$OUT/$b.txt" | tail -n 40
    done
fi
