// Quantize f32 rows to the activation formats Q8_0, Q8_1 (32 weights a block) and Q8_K (256).
//
// Formula (llama.cpp reference quantizers, bit-exact with gguf-py's Q8_0 and boostr's CPU):
//   Q8_0 / Q8_1: amax = max |x|; d = amax / 127; id = d != 0 ? 1 / d : 0; q = roundf(x * id)
//     (half away from zero); stored d = f16(d) (nearest even); Q8_1 also s = f16((float)sum(q) * d).
//   Q8_K: mx = the first x of largest |x| (0 if all are 0: an all-zero block);
//     iscale = -127 / mx; q = min(127, rint(iscale * x)); d = 1 / iscale; bsums[g] = sum of q over 16.
// Layout: x [blocks * BE] f32 contiguous; out the block bytes back to back:
//   Q8_0 (34): f16 d, i8 qs[32]; Q8_1 (36): f16 d, f16 s, i8 qs[32];
//   Q8_K (292): f32 d, i8 qs[256], i16 bsums[16].
// One warp per block (Q8_K: 8 weights a lane); grid-stride over blocks.
// Reference: llama.cpp ggml-quants.c quantize_row_q8_0_ref / q8_1_ref / q8_K_ref,
// ggml-cuda/quantize.cu (quantize_q8_1); gguf-py Q8_0.quantize_blocks.
#include "quant.cuh"

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ __forceinline__ int warp_sum(int v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ void put_u16(u8* p, u32 v) { p[0] = (u8)(v & 255u); p[1] = (u8)((v >> 8) & 255u); }

// f32 -> f16 bits (nearest even), widened inside the asm: the 16-bit "=h" result of f32_to_f16
// split into bytes stored a wrong low byte on the H100 (sm_90, NVRTC 13.2).
__device__ __forceinline__ u32 f16_bits(float f) {
  u32 u;
  asm("{ .reg .b16 t; cvt.rn.f16.f32 t, %1; cvt.u32.u16 %0, t; }" : "=r"(u) : "f"(f));
  return u;
}

template <int SUM>
__device__ __forceinline__ void q8_32(const float* __restrict__ x, u8* __restrict__ out, i64 nblk) {
  const int lane = threadIdx.x & 31;
  const i64 w0 = ((i64)blockIdx.x * blockDim.x + threadIdx.x) >> 5, nw = ((i64)gridDim.x * blockDim.x) >> 5;
  const int bb = SUM ? 36 : 34, qo = SUM ? 4 : 2;
  for (i64 blk = w0; blk < nblk; blk += nw) {
    const float v = x[blk * 32 + lane];
    const float amax = warp_max(fabsf(v));
    const float d = __fdiv_rn(amax, 127.0f);
    const float id = d != 0.0f ? __fdiv_rn(1.0f, d) : 0.0f;
    const int q = (int)roundf(__fmul_rn(v, id));
    u8* o = out + blk * bb;
    o[qo + lane] = (u8)(q & 255);
    const int total = SUM ? warp_sum(q) : 0;
    if (lane == 0) {
      put_u16(o, f16_bits(d));
      if (SUM) put_u16(o + 2, f16_bits(__fmul_rn((float)total, d)));
    }
  }
}

extern "C" __global__ void quantize_q8_0(const float* __restrict__ x, u8* __restrict__ out, i64 nblk) { q8_32<0>(x, out, nblk); }
extern "C" __global__ void quantize_q8_1(const float* __restrict__ x, u8* __restrict__ out, i64 nblk) { q8_32<1>(x, out, nblk); }

extern "C" __global__ void quantize_q8_k(const float* __restrict__ x, u8* __restrict__ out, i64 nblk) {
  const int lane = threadIdx.x & 31;
  const i64 w0 = ((i64)blockIdx.x * blockDim.x + threadIdx.x) >> 5, nw = ((i64)gridDim.x * blockDim.x) >> 5;
  for (i64 blk = w0; blk < nblk; blk += nw) {
    const float* xb = x + blk * 256 + 8 * lane;
    float v[8];
    float amax = 0.0f, mx = 0.0f;
    int idx = 1 << 30;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      v[i] = xb[i];
      if (fabsf(v[i]) > amax) { amax = fabsf(v[i]); mx = v[i]; idx = 8 * lane + i; }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {  // largest |x|, the lowest index on ties
      const float a2 = __shfl_xor_sync(0xffffffffu, amax, o), m2 = __shfl_xor_sync(0xffffffffu, mx, o);
      const int i2 = __shfl_xor_sync(0xffffffffu, idx, o);
      if (a2 > amax || (a2 == amax && i2 < idx)) { amax = a2; mx = m2; idx = i2; }
    }
    u8* o = out + blk * 292;
    if (amax == 0.0f) {
#pragma unroll
      for (int i = 0; i < 8; ++i) o[4 + 8 * lane + i] = 0;
      if (lane < 16) put_u16(o + 260 + 2 * lane, 0u);
      if (lane == 0) { o[0] = 0; o[1] = 0; o[2] = 0; o[3] = 0; }
      continue;
    }
    const float iscale = __fdiv_rn(-127.0f, mx);
    int sum = 0;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const int q = min(127, __float2int_rn(__fmul_rn(iscale, v[i])));
      sum += q;
      o[4 + 8 * lane + i] = (u8)(q & 255);
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);  // lanes 2g, 2g + 1 hold group g
    if ((lane & 1) == 0) put_u16(o + 260 + lane, (u32)sum & 0xffffu);
    if (lane == 0) {
      const u32 db = __float_as_uint(__fdiv_rn(1.0f, iscale));
      put_u16(o, db & 0xffffu);
      put_u16(o + 2, db >> 16);
    }
  }
}
