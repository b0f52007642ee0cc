// Legacy 32-weight formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 and the 128-weight Q1_0.
//
// Block layouts (bytes, little endian; ggml-common.h), e = weight index in the block:
//   Q4_0 (18): f16 d, u8 qs[16];             q = nib32(qs, e);             d * (q - 8)
//   Q4_1 (20): f16 d, f16 m, u8 qs[16];                                    d * q + m
//   Q5_0 (22): f16 d, u32 qh, u8 qs[16];     q = nib | (qh >> e & 1) << 4;  d * (q - 16)
//   Q5_1 (24): f16 d, f16 m, u32 qh, u8 qs[16];                            d * q + m
//   Q8_0 (34): f16 d, i8 qs[32];                                           q * d
//   Q8_1 (36): f16 d, f16 s (= d * sum q), i8 qs[32];                      q * d
//   Q1_0 (18, 128 weights): f16 d, u8 qs[16]; bit e % 8 of qs[e / 8] set -> +d, else -d
// Reference: llama.cpp ggml-cuda/convert.cu dequantize_block_q4_0 ... (dequantize_q4_0 etc. in
// ggml-cuda/dequantize.cuh); gguf-py Q4_0.dequantize_blocks ... Q8_0.dequantize_blocks.
#ifndef BOOSTR_QUANT_LEGACY_CUH
#define BOOSTR_QUANT_LEGACY_CUH

__device__ __forceinline__ void dec8_q4_0(const u8* b, int j, float* v) {
  const float d = ldh(b);
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = fmul(d, (float)((int)nib32(b + 2, 8 * j + i) - 8));
}

__device__ __forceinline__ void dec8_q4_1(const u8* b, int j, float* v) {
  const float d = ldh(b), m = ldh(b + 2);
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = fadd(fmul(d, (float)nib32(b + 4, 8 * j + i)), m);
}

__device__ __forceinline__ void dec8_q5_0(const u8* b, int j, float* v) {
  const float d = ldh(b);
  const u32 qh = ld32(b + 2);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int e = 8 * j + i;
    const u32 q = nib32(b + 6, e) | (((qh >> e) & 1u) << 4);
    v[i] = fmul(d, (float)((int)q - 16));
  }
}

__device__ __forceinline__ void dec8_q5_1(const u8* b, int j, float* v) {
  const float d = ldh(b), m = ldh(b + 2);
  const u32 qh = ld32(b + 4);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int e = 8 * j + i;
    const u32 q = nib32(b + 8, e) | (((qh >> e) & 1u) << 4);
    v[i] = fadd(fmul(d, (float)q), m);
  }
}

__device__ __forceinline__ void dec8_q8_0(const u8* b, int j, float* v) {
  const float d = ldh(b);
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = fmul((float)(signed char)b[2 + 8 * j + i], d);
}

__device__ __forceinline__ void dec8_q8_1(const u8* b, int j, float* v) {
  const float d = ldh(b);
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = fmul((float)(signed char)b[4 + 8 * j + i], d);
}

__device__ __forceinline__ void dec8_q1_0(const u8* b, int j, float* v) {
  const float d = ldh(b);
  const u32 bits = b[2 + j];
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = ((bits >> i) & 1u) ? d : -d;
}
#endif  // BOOSTR_QUANT_LEGACY_CUH
