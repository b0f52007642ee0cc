"""Every (kernel file, template parameters) pair the CUDA hooks can render.

``scripts/check_cuda.py`` compiles each of them with the local ``nvcc`` (sm_80, sm_90) so that
CI catches a kernel that does not compile, without a GPU. Keep in step with the hook modules.
"""

from __future__ import annotations

from collections.abc import Iterator

from ... import dtype as _dt
from ._util import CTYPE, acc_params, t_params
from .reduce import _ACC
from .sort import sort_params

Variant = tuple[str, tuple[tuple[str, object], ...]]


def kernel_variants() -> Iterator[Variant]:
    """(relpath under boostr/kernels, params) for every module the backend may compile."""
    compute = [d for d in _dt.ALL_DTYPES if not d.is_fp8]
    floats = [d for d in compute if d.is_float]
    yield "cuda/memory/raw.cu", ()
    yield "cuda/elementwise/where.cu", ()
    yield "cuda/indexing/indexing.cu", ()
    yield "cuda/matmul/matmul_bf16.cu", ()
    for d in _dt.ALL_DTYPES:
        yield "cuda/memory/cast.cu", (("D", CTYPE[d]), ("DN", d.name))
        yield "cuda/creation/arange.cu", t_params(d)
        yield "cuda/creation/random.cu", (*t_params(d), ("F64", int(d is _dt.f64)))
    for d in compute:
        yield "cuda/elementwise/unary.cu", t_params(d)
        yield "cuda/elementwise/binary.cu", t_params(d)
        yield "cuda/elementwise/ternary.cu", t_params(d)
        yield "cuda/reduce/reduce.cu", (("T", CTYPE[d]), ("N", d.name), ("R", _ACC[d][0]))
        yield "cuda/indexing/scatter_add.cu", (("T", CTYPE[d]), ("N", d.name))
        yield "cuda/sort/sort_keys.cu", sort_params(d)
    for d in floats:
        yield "cuda/reduce/softmax.cu", acc_params(d)
        yield "cuda/norm/rms_norm.cu", acc_params(d)
        yield "cuda/norm/layer_norm.cu", acc_params(d)
    for d in (_dt.f64, _dt.f32, _dt.f16, _dt.bf16, _dt.i64):
        acc = "double" if d is _dt.f64 else ("float" if d.is_float else "i64")
        yield "cuda/reduce/cumsum.cu", (("T", CTYPE[d]), ("N", d.name), ("A", acc))
    from ...quant.formats import FORMATS
    from .quant import GEMV_FAST, GEMV_PF, OUT_DTYPES, dequant_params, gemv_params, quantize_params

    for name in FORMATS:
        for d in OUT_DTYPES:
            yield "cuda/quant/dequant.cu", dequant_params(name, d)
        yield "cuda/quant/gemv.cu", gemv_params(name)
    for name in GEMV_FAST:  # fast GEMV units in flight (GVP) and the fused SwiGLU
        for pf in GEMV_PF:
            if pf != 1:
                yield "cuda/quant/gemv.cu", gemv_params(name, pf)
            yield "cuda/quant/gemv_swiglu.cu", gemv_params(name, pf)
    yield "cuda/quant/quantize.cu", quantize_params()
    # attention family (ops/cuda/attention.py, rope.py, kv_cache.py)
    for d in (_dt.f16, _dt.bf16):
        yield "cuda/attention/flash_fwd_tc.cu", (("N", d.name), ("BF", int(d is _dt.bf16)))
        for rel in ("alibi_fwd_tc", "varlen_fwd_tc"):  # ops/cuda/alibi.py, varlen_attention.py
            yield f"cuda/attention/{rel}.cu", (("N", d.name), ("BF", int(d is _dt.bf16)))
        for rel in ("flash_bwd_tc", "alibi_bwd_tc", "varlen_bwd_tc"):  # tensor-core backward (attention.bwd_plan)
            yield f"cuda/attention/{rel}.cu", (("N", d.name), ("BF", int(d is _dt.bf16)))
        yield "cuda/attention/flash_decode_tc.cu", (("N", d.name), ("BF", int(d is _dt.bf16)))
        yield "cuda/attention/alibi_decode_tc.cu", (("N", d.name), ("BF", int(d is _dt.bf16)))  # ops/cuda/alibi.py
    for d in (_dt.f32, _dt.f16, _dt.bf16):
        for rel in ("flash_fwd", "flash_decode", "flash_bwd", "alibi_fwd", "alibi_bwd", "varlen_fwd", "varlen_bwd"):
            yield f"cuda/attention/{rel}.cu", t_params(d)
        yield "cuda/position/rope.cu", t_params(d)
    yield "cuda/attention/alibi_decode.cu", t_params(_dt.f32)  # ALiBi decode on CUDA cores: f32 only (alibi.py)
    for d in (_dt.f64, _dt.f32, _dt.f16, _dt.bf16):
        yield "cuda/kv/kv_quant.cu", t_params(d)
    for w, u in ((1, "unsigned char"), (2, "unsigned short"), (4, "unsigned int"), (8, "u64")):
        yield "cuda/kv/reshape_and_cache.cu", (("W", w), ("U", u))
    from .kv_cache import FUSED, rope_cache_params  # fused RoPE + paged cache write (kv_cache.py)

    for src in FUSED:
        for cache in FUSED:
            yield "cuda/kv/rope_cache.cu", rope_cache_params(src, cache)
    from .quant_int4 import int4_variants  # 4-bit NF4 / AWQ / GPTQ (ops/cuda/quant_int4.py)

    yield from int4_variants()
