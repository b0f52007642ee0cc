// Quantized GEMV for format ${F}: out[m, n] = sum_k x[m, k] * W[n, k] for M <= MB rows of x, f32 sums.
//
// Two kernels (boostr/ops/cuda/quant.py picks one per call):
// - fast (FAST = ${FAST}; formats with a unit in gemv_units.cuh / gemv_kunits.cuh), entries
//   ``gemv_${F}_m<MB>_r<R>``: formula, layout and launch in gemv_fast.cuh (R weight rows a warp,
//   1 .. 8 warps a CTA, x staged in shared memory, exact integer codes times f32 x with f32 FMAs,
//   block scale applied once per 16/32-weight group, GV_PF = ${GVP} units a lane in flight, optional
//   K split over gridDim.y). Needs raw aligned to the format's block alignment (min(16, largest power
//   of 2 dividing BB)). Arguments: out, x, raw, M, N, K, KC (x chunk), KS (K a split), part, cnt.
// - generic, entries ``gemv_${F}_m<MB>`` (any format, any alignment): one warp per weight row n,
//   WARPS rows a block; lane l takes the 8-weight chunks l, l + 32, ... and decodes them with the
//   bit-exact dequantize decoder dec8_${F}; acc[m] += W * x in f32, then a warp shuffle reduction.
//   Formula: W[n, 8c + i] = dec8_${F}(block c / (BE / 8) of row n, chunk c % (BE / 8))[i].
// Layout: x [M, K] f32 contiguous, 16-byte aligned (K is a multiple of 32, so every row is);
// raw [N, K / BE * BB] bytes; out [M, N] f32 (row stride N). Rows m >= M are never written.
// Activations stay f32 (no q8_1 rounding, unlike llama.cpp's mmvq), so results match a float
// matmul of the dequantized weight to f32 accumulation error.
// Reference: llama.cpp ggml-cuda/mmvq.cu + vecdotq.cuh (one warp group per row, per-block decode) and
// dmmv.cu (f32 activations); block layouts in legacy.cuh, kquants.cuh, iq.cuh, ternary_fp4.cuh.
#include "quant.cuh"

#define BE ${BE}
#define BB ${BB}
#define CPB (BE / 8)
#define WARPS 4

template <int MB>
__device__ __forceinline__ void gemv_body(float* __restrict__ out, const float* __restrict__ x, const u8* __restrict__ raw,
                                          i64 M, i64 N, i64 K) {
  const int lane = threadIdx.x & 31;
  const i64 n = (i64)blockIdx.x * WARPS + (threadIdx.x >> 5);
  if (n >= N) return;
  const i64 nch = K / 8;
  const u8* row = raw + n * (K / BE) * BB;
  float acc[MB];
#pragma unroll
  for (int m = 0; m < MB; ++m) acc[m] = 0.0f;
  for (i64 c = lane; c < nch; c += 32) {
    float v[8];
    dec8_${F}(row + (c / CPB) * BB, (int)(c % CPB), v);
#pragma unroll
    for (int m = 0; m < MB; ++m) {
      if (m < M) {
        const float4* xp = reinterpret_cast<const float4*>(x + m * K + 8 * c);
        const float4 a = __ldg(xp), b = __ldg(xp + 1);
        float s = acc[m];
        s = fmaf(v[0], a.x, s); s = fmaf(v[1], a.y, s); s = fmaf(v[2], a.z, s); s = fmaf(v[3], a.w, s);
        s = fmaf(v[4], b.x, s); s = fmaf(v[5], b.y, s); s = fmaf(v[6], b.z, s); s = fmaf(v[7], b.w, s);
        acc[m] = s;
      }
    }
  }
#pragma unroll
  for (int m = 0; m < MB; ++m) {
    float s = acc[m];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0 && m < M) out[m * N + n] = s;
  }
}

#define GEMV_ENTRY(MB)                                                                                         \
  extern "C" __global__ void __launch_bounds__(WARPS * 32) gemv_${F}_m##MB(float* out, const float* x, const u8* raw, \
                                                                          i64 M, i64 N, i64 K) {              \
    gemv_body<MB>(out, x, raw, M, N, K);                                                                       \
  }
GEMV_ENTRY(1)
GEMV_ENTRY(2)
GEMV_ENTRY(4)
GEMV_ENTRY(8)

#if ${FAST}
#define GV_FMT_${F} 1
#define GV_KVT ${KVT}
#define GV_PF ${GVP}
#include "gemv_fast.cuh"
#include "gemv_units.cuh"
#include "gemv_kunits.cuh"
#ifndef GV_HAVE_UNIT
#error "FAST GEMV requested for ${F}, which has no unit in gemv_units.cuh / gemv_kunits.cuh"
#endif
#ifndef GV_MINB4
#define GV_MINB4 2  // K-quants: 4 rows a warp need up to 128 registers
#endif
#ifndef GV_MINB1
#define GV_MINB1 3  // K-quants: 1 row a warp needs up to 80 registers
#endif

// MINB: thread blocks of 8 warps an SM must hold (register cap 65536 / (256 MINB)): 3 where the unit
// data fits in 80 registers, 2 (128 registers, no spills) for more rows of x; GV_MINB4 for 4 weight rows;
// GV_MINB2 for 2 rows of one x row (2 when GV_PF = 2 keeps twice the unit data); GV_MINB1 for 1 row of
// one x row (5, 48 registers, for the 32-weight units: nvcc otherwise takes up to 80 for the x staging).
#if GV_PF > 1
#define GV_MINB2 2
#else
#define GV_MINB2 3
#endif
#define GV_ENTRY(MB, R, MINB)                                                                                  \
  extern "C" __global__ void __launch_bounds__(GV_MAXW * 32, MINB)                                             \
      gemv_${F}_m##MB##_r##R(float* out, const float* x, const u8* raw, i64 M, i64 N, i64 K, i64 KC, i64 KS,   \
                             float* part, unsigned* cnt) {                                                    \
    gv_body<GvUnit, MB, R, 1>(out, x, raw, raw, M, N, K, KC, KS, part, cnt);                                   \
  }
GV_ENTRY(1, 1, GV_MINB1)
GV_ENTRY(1, 2, GV_MINB2)
GV_ENTRY(1, 4, GV_MINB4)
GV_ENTRY(2, 1, 3)
GV_ENTRY(2, 2, 2)
GV_ENTRY(4, 1, 2)
GV_ENTRY(4, 2, 2)
GV_ENTRY(8, 1, 2)
GV_ENTRY(8, 2, 2)
#endif
