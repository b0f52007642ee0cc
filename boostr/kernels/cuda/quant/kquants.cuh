// K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and the activation format Q8_K (256 weights a block).
//
// Block layouts (bytes, little endian; ggml-common.h); e = weight index, g = e / 16,
// sb = e / 32, c = e / 128, m = e % 32:
//   Q2_K (84):  u8 scales[16] (lo nibble scale, hi nibble min), u8 qs[64], f16 d, f16 dmin;
//               q = qs[32c + m] >> 2 * (sb % 4) & 3;  (d * sc[g]) * q - (dmin * mn[g])
//   Q3_K (110): u8 hmask[32], u8 qs[64], u8 scales[12] (16 x 6 bit), f16 d;
//               q = (2 bits as Q2_K) - 4 * !(hmask[m] >> sb & 1);  (d * (sc[g] - 32)) * q
//   Q4_K (144): f16 d, f16 dmin, u8 scales[12] (8 x 6-bit scale + min), u8 qs[128];
//               q = qs[32 * (sb / 2) + m] >> 4 * (sb % 2) & 15;  (d * sc[sb]) * q - (dmin * mn[sb])
//   Q5_K (176): f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128]; q |= (qh[m] >> sb & 1) << 4
//   Q6_K (210): u8 ql[128], u8 qh[64], i8 scales[16], f16 d; i = e % 128:
//               q = (ql[64c + i % 64] >> 4 * (i / 64) & 15) | (qh[32c + i % 32] >> 2 * (i / 32) & 3) << 4;
//               (d * sc[g]) * (q - 32)
//   Q8_K (292): f32 d, i8 qs[256], i16 bsums[16];  q * d
// Reference: llama.cpp ggml-cuda/convert.cu dequantize_block_q2_K ... dequantize_block_q6_K,
// get_scale_min_k4; gguf-py Q2_K.dequantize_blocks ... Q6_K.dequantize_blocks.
#ifndef BOOSTR_QUANT_KQUANTS_CUH
#define BOOSTR_QUANT_KQUANTS_CUH

// get_scale_min_k4: 6-bit scale and min of sub-block s from the 12 packed bytes q.
__device__ __forceinline__ void scale_min_k4(int s, const u8* q, u32& sc, u32& mn) {
  if (s < 4) {
    sc = q[s] & 63u;
    mn = q[s + 4] & 63u;
  } else {
    sc = (q[s + 4] & 15u) | ((q[s - 4] >> 6) << 4);
    mn = (q[s + 4] >> 4) | ((q[s] >> 6) << 4);
  }
}

__device__ __forceinline__ void dec8_q2_k(const u8* b, int j, float* v) {
  const int e0 = 8 * j, g = e0 >> 4, sb = e0 >> 5, c = e0 >> 7;
  const float d = ldh(b + 80), dmin = ldh(b + 82);
  const u32 sc = b[g];
  const float dl = fmul(d, (float)(sc & 15u)), ml = fmul(dmin, (float)(sc >> 4));
  const u8* qs = b + 16 + 32 * c;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const u32 q = (qs[(e0 + i) & 31] >> (2 * (sb & 3))) & 3u;
    v[i] = fsub(fmul(dl, (float)q), ml);
  }
}

__device__ __forceinline__ void dec8_q3_k(const u8* b, int j, float* v) {
  const int e0 = 8 * j, g = e0 >> 4, sb = e0 >> 5, c = e0 >> 7;
  const float d = ldh(b + 108);
  const u8* s = b + 96;
  const u32 lo = g < 8 ? (s[g] & 15u) : (s[g - 8] >> 4);
  const u32 hi = (s[8 + (g & 3)] >> (2 * (g >> 2))) & 3u;
  const float dl = fmul(d, (float)((int)(lo | (hi << 4)) - 32));
  const u8* qs = b + 32 + 32 * c;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int m = (e0 + i) & 31;
    const int q = (int)((qs[m] >> (2 * (sb & 3))) & 3u) - (((b[m] >> sb) & 1u) ? 0 : 4);
    v[i] = fmul(dl, (float)q);
  }
}

__device__ __forceinline__ void dec8_q4_k(const u8* b, int j, float* v) {
  const int e0 = 8 * j, sb = e0 >> 5;
  u32 sc, mn;
  scale_min_k4(sb, b + 4, sc, mn);
  const float d1 = fmul(ldh(b), (float)sc), m1 = fmul(ldh(b + 2), (float)mn);
  const u8* qs = b + 16 + 32 * (sb >> 1);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const u32 q = (qs[(e0 + i) & 31] >> (4 * (sb & 1))) & 15u;
    v[i] = fsub(fmul(d1, (float)q), m1);
  }
}

__device__ __forceinline__ void dec8_q5_k(const u8* b, int j, float* v) {
  const int e0 = 8 * j, sb = e0 >> 5;
  u32 sc, mn;
  scale_min_k4(sb, b + 4, sc, mn);
  const float d1 = fmul(ldh(b), (float)sc), m1 = fmul(ldh(b + 2), (float)mn);
  const u8* qh = b + 16;
  const u8* qs = b + 48 + 32 * (sb >> 1);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int m = (e0 + i) & 31;
    const u32 q = ((qs[m] >> (4 * (sb & 1))) & 15u) | (((qh[m] >> sb) & 1u) << 4);
    v[i] = fsub(fmul(d1, (float)q), m1);
  }
}

__device__ __forceinline__ void dec8_q6_k(const u8* b, int j, float* v) {
  const int e0 = 8 * j, g = e0 >> 4, c = e0 >> 7, w = e0 & 127;
  const float dl = fmul(ldh(b + 208), (float)(signed char)b[192 + g]);
  const u8* ql = b + 64 * c + (w & 63);
  const u8* qh = b + 128 + 32 * c + (w & 31);
  const int shl = 4 * (w >> 6), shh = 2 * (w >> 5);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const u32 q = ((ql[i] >> shl) & 15u) | (((qh[i] >> shh) & 3u) << 4);
    v[i] = fmul(dl, (float)((int)q - 32));
  }
}

__device__ __forceinline__ void dec8_q8_k(const u8* b, int j, float* v) {
  const float d = __uint_as_float(ld32(b));
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = fmul((float)(signed char)b[4 + 8 * j + i], d);
}
#endif  // BOOSTR_QUANT_KQUANTS_CUH
