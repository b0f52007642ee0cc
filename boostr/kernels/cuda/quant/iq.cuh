// IQ formats: IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M (codebook grids) and
// IQ4_NL, IQ4_XS (non-linear 4-bit levels).
//
// Block layouts (bytes, little endian; ggml-common.h); g = e / 8 (group of 8), ib = e / 32;
// a set sign bit i negates weight i of its group (after the scale product):
//   IQ2_XXS (66): f16 d, 8 x {u8 grid[4], u32 aux}; db = (d * (0.5 + aux >> 28)) * 0.25;
//                 group lg of ib: grid row grid[lg], signs ksigns[aux >> 7 lg & 127]
//   IQ2_XS (74):  f16 d, u16 qs[32] (9-bit row | 7-bit sign index), u8 scales[8] (nibble per 16)
//   IQ2_S (82):   f16 d, u8 qs[32], u8 signs[32], u8 qh[8] (2 high row bits per group), u8 scales[8]
//   IQ3_XXS (98): f16 d, u8 qs[64] (rows of 4), u32 aux[8]; db = (d * (0.5 + aux >> 28)) * 0.5
//   IQ3_S (110):  f16 d, u8 qs[64], u8 qh[8] (9th row bit), u8 signs[32], u8 scales[4]; db = d * (1 + 2 s)
//   IQ1_S (50):   f16 d, u8 qs[32], u16 qh[8] (3 row bits x 4, 3-bit scale, delta sign);
//                 (d * (2 s + 1)) * (grid + delta)
//   IQ1_M (56):   u8 qs[32], u8 qh[16], u16 scales[4] (3-bit scales; f16 d in the top nibbles)
//   IQ4_NL (18, 32 weights): f16 d, u8 qs[16] (nibbles as Q4_0); d * kvalues_iq4nl[q]
//   IQ4_XS (136): f16 d, u16 scales_h, u8 scales_l[4], u8 qs[128]; (d * (ls - 32)) * kvalues[q]
// Reference: llama.cpp ggml-cuda/convert.cu dequantize_block_iq2_xxs ... dequantize_block_iq4_xs;
// gguf-py IQ2_XXS.dequantize_blocks ... IQ4_XS.dequantize_blocks (same f32 operation order).
#ifndef BOOSTR_QUANT_IQ_CUH
#define BOOSTR_QUANT_IQ_CUH

__device__ __forceinline__ void grid8_signed(u32 row, float db, u32 signs, float* v) {
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const float x = fmul(db, grid_at(row, i));
    v[i] = ((signs >> i) & 1u) ? -x : x;
  }
}

__device__ __forceinline__ void grid44_signed(u32 r0, u32 r1, float db, u32 signs, float* v) {
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const float x = fmul(db, grid_at(i < 4 ? r0 : r1, i & 3));
    v[i] = ((signs >> i) & 1u) ? -x : x;
  }
}

__device__ __forceinline__ float half_scale(float d, u32 s, float f) { return fmul(fmul(d, fadd(0.5f, (float)s)), f); }

__device__ __forceinline__ void dec8_iq2_xxs(const u8* b, int j, float* v) {
  const int ib = j >> 2, lg = j & 3;
  const u32 aux = ld32(b + 6 + 8 * ib);
  const float db = half_scale(ldh(b), aux >> 28, 0.25f);
  grid8_signed(b[2 + 8 * ib + lg], db, ksigns((aux >> (7 * lg)) & 127u), v);
}

__device__ __forceinline__ void dec8_iq2_xs(const u8* b, int j, float* v) {
  const u32 q = ld16(b + 2 + 2 * j);
  const u32 sc = (b[66 + (j >> 2)] >> (4 * ((j >> 1) & 1))) & 15u;
  grid8_signed(q & 511u, half_scale(ldh(b), sc, 0.25f), ksigns(q >> 9), v);
}

__device__ __forceinline__ void dec8_iq2_s(const u8* b, int j, float* v) {
  const u32 row = b[2 + j] | (((b[66 + (j >> 2)] >> (2 * (j & 3))) & 3u) << 8);
  const u32 sc = (b[74 + (j >> 2)] >> (4 * ((j >> 1) & 1))) & 15u;
  grid8_signed(row, half_scale(ldh(b), sc, 0.25f), b[34 + j], v);
}

__device__ __forceinline__ void dec8_iq3_xxs(const u8* b, int j, float* v) {
  const int ib = j >> 2, lg = j & 3;
  const u32 aux = ld32(b + 66 + 4 * ib);
  const float db = half_scale(ldh(b), aux >> 28, 0.5f);
  grid44_signed(b[2 + 2 * j], b[3 + 2 * j], db, ksigns((aux >> (7 * lg)) & 127u), v);
}

__device__ __forceinline__ void dec8_iq3_s(const u8* b, int j, float* v) {
  const int ib = j >> 2;
  const u32 sc = (b[106 + (ib >> 1)] >> (4 * (ib & 1))) & 15u;
  const float db = fmul(ldh(b), (float)(1u + 2u * sc));
  const u32 qh = b[66 + (j >> 2)];
  const int k0 = 2 * j, k1 = 2 * j + 1;
  const u32 r0 = b[2 + k0] | (((qh >> (k0 & 7)) & 1u) << 8);
  const u32 r1 = b[2 + k1] | (((qh >> (k1 & 7)) & 1u) << 8);
  grid44_signed(r0, r1, db, b[74 + j], v);
}

__device__ __forceinline__ void iq1_group(u32 row, float dl, float delta, float* v) {
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = fmul(dl, fadd(grid_at(row, i), delta));
}

__device__ __forceinline__ void dec8_iq1_s(const u8* b, int j, float* v) {
  const int ib = j >> 2, lg = j & 3;
  const u32 qh = ld16(b + 34 + 2 * ib);
  const float dl = fmul(ldh(b), (float)(2u * ((qh >> 12) & 7u) + 1u));
  const float delta = (qh & 0x8000u) ? -IQ1_DELTA : IQ1_DELTA;
  iq1_group(b[2 + 4 * ib + lg] | (((qh >> (3 * lg)) & 7u) << 8), dl, delta, v);
}

__device__ __forceinline__ void dec8_iq1_m(const u8* b, int j, float* v) {
  const u32 s0 = ld16(b + 48), s1 = ld16(b + 50), s2 = ld16(b + 52), s3 = ld16(b + 54);
  const u32 dbits = (s0 >> 12) | ((s1 >> 8) & 0xf0u) | ((s2 >> 4) & 0xf00u) | (s3 & 0xf000u);
  const float d = f16_to_f32((unsigned short)dbits);
  const int s = j >> 1;
  const u32 sv = (ld16(b + 48 + 2 * (s >> 2)) >> (3 * (s & 3))) & 7u;
  const float dl = fmul(d, (float)(2u * sv + 1u));
  const u32 qh = b[32 + (j >> 1)] >> (4 * (j & 1));
  const float delta = (qh & 8u) ? -IQ1_DELTA : IQ1_DELTA;
  iq1_group(b[j] | ((qh & 7u) << 8), dl, delta, v);
}

__device__ __forceinline__ void dec8_iq4_nl(const u8* b, int j, float* v) {
  const float d = ldh(b);
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = fmul(d, k_kv[nib32(b + 2, 8 * j + i)]);
}

__device__ __forceinline__ void dec8_iq4_xs(const u8* b, int j, float* v) {
  const int ib = j >> 2;
  const u32 ls = ((b[4 + (ib >> 1)] >> (4 * (ib & 1))) & 15u) | (((ld16(b + 2) >> (2 * ib)) & 3u) << 4);
  const float dl = fmul(ldh(b), (float)((int)ls - 32));
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = fmul(dl, k_kv[nib32(b + 8 + 16 * ib, (8 * j + i) & 31)]);
}
#endif  // BOOSTR_QUANT_IQ_CUH
