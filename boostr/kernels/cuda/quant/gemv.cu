// Quantized GEMV for format ${F}: out[m, n] = sum_k x[m, k] * W[n, k] for M <= MB rows of x,
// W decoded in registers 8 weights at a time (never written out), f32 products and sums.
//
// Formula: W[n, 8c + i] = dec8_${F}(block c / (BE / 8) of row n, chunk c % (BE / 8))[i]
// (the dequantize decoders); acc[m] += W * x in f32, then a warp shuffle reduction.
// Layout: x [M, K] f32 contiguous, 16-byte aligned (K is a multiple of 32, so every row is);
// raw [N, K / BE * BB] bytes; out [M, N] f32 (row stride N). One warp per output row n, WARPS
// rows a block; lane l takes the chunks l, l + 32, ... of its row, so a warp reads 32
// consecutive 8-weight chunks (a contiguous run of block bytes) per step and x stays in L1/L2.
// Entry points ``gemv_${F}_m<MB>`` for MB in {1, 2, 4, 8}: rows m >= M are skipped.
// Activations stay f32 (no q8_1 rounding, unlike llama.cpp's mmvq), so results match a float
// matmul of the dequantized weight to f32 accumulation error.
// Reference: llama.cpp ggml-cuda/mmvq.cu (one warp group per row, per-block decode) and
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

extern "C" __global__ void __launch_bounds__(WARPS * 32) gemv_${F}_m1(float* out, const float* x, const u8* raw, i64 M, i64 N, i64 K) {
  gemv_body<1>(out, x, raw, M, N, K);
}
extern "C" __global__ void __launch_bounds__(WARPS * 32) gemv_${F}_m2(float* out, const float* x, const u8* raw, i64 M, i64 N, i64 K) {
  gemv_body<2>(out, x, raw, M, N, K);
}
extern "C" __global__ void __launch_bounds__(WARPS * 32) gemv_${F}_m4(float* out, const float* x, const u8* raw, i64 M, i64 N, i64 K) {
  gemv_body<4>(out, x, raw, M, N, K);
}
extern "C" __global__ void __launch_bounds__(WARPS * 32) gemv_${F}_m8(float* out, const float* x, const u8* raw, i64 M, i64 N, i64 K) {
  gemv_body<8>(out, x, raw, M, N, K);
}
