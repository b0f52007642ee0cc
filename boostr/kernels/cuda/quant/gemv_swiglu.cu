// Fused quantized SwiGLU for format ${F}: out[m, n] = silu(g) * u with g = sum_k x[m, k] * Wg[n, k],
// u = sum_k x[m, k] * Wu[n, k] (f32 sums, silu(g) = g / (1 + exp(-g)) in f32), M <= MB rows of x.
//
// Entries ``gemv_swiglu_${F}_m<MB>_r<R>``: the fast GEMV of gemv_fast.cuh with NW = 2 weight matrices:
// a warp takes rows n0 .. n0 + R - 1 of both the gate and the up weights (2R rows against the same staged
// x), so one kernel reads each weight once and writes the product (no [M, F] gate / up temporaries).
// Arguments: out, x, raw_gate, raw_up, M, N, K, KC (x chunk), KS (K a split), part, cnt (gemv_fast.cuh).
// Layout: x [M, K] f32 contiguous, 16-byte aligned; raw_gate, raw_up [N, K / BE * BB] bytes, both
// aligned to the format's block alignment; out [M, N] f32. GV_PF = ${GVP}.
// Reference: llama.cpp ggml-cuda (mmvq with a fused GLU epilogue); the trait's composite
// boostr/ops/traits/quant.py QuantOps.quant_swiglu is the definition.
#include "quant.cuh"

#define BE ${BE}
#define BB ${BB}
#define GV_FMT_${F} 1
#define GV_KVT ${KVT}
#define GV_PF ${GVP}
#include "gemv_fast.cuh"
#include "gemv_units.cuh"
#include "gemv_kunits.cuh"
#ifndef GV_HAVE_UNIT
#error "fused SwiGLU requested for ${F}, which has no unit in gemv_units.cuh / gemv_kunits.cuh"
#endif
#ifndef GV_MINB4
#define GV_MINB4 2
#endif

#if GV_PF > 1
#define GV_MINB2 2
#else
#define GV_MINB2 3
#endif

// 2R weight rows a warp: MINB as gemv.cu's entry of the same row count.
#define GV_SWIGLU(MB, R, MINB)                                                                                  \
  extern "C" __global__ void __launch_bounds__(GV_MAXW * 32, MINB)                                             \
      gemv_swiglu_${F}_m##MB##_r##R(float* out, const float* x, const u8* rg, const u8* ru, i64 M, i64 N, i64 K, \
                                    i64 KC, i64 KS, float* part, unsigned* cnt) {                              \
    gv_body<GvUnit, MB, R, 2>(out, x, rg, ru, M, N, K, KC, KS, part, cnt);                                     \
  }
GV_SWIGLU(1, 1, GV_MINB2)
GV_SWIGLU(1, 2, GV_MINB4)
GV_SWIGLU(2, 1, 2)
GV_SWIGLU(4, 1, 2)
GV_SWIGLU(8, 1, 2)
