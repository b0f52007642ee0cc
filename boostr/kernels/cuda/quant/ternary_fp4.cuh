// Ternary TQ1_0, TQ2_0 and 4-bit float MXFP4, NVFP4.
//
// Block layouts (bytes, little endian; ggml-common.h):
//   TQ1_0 (54, 256 weights): u8 qs[48] (5 trits a byte), u8 qh[4] (4 trits a byte), f16 d;
//     trit n of byte x: ((x * 3^n mod 256) * 3) >> 8; weight d * (t - 1). Order: qs[0:32]
//     trit n -> weight 32n + m; qs[32:48] -> 160 + 16n + m; qh -> 240 + 4n + m.
//   TQ2_0 (66, 256 weights): u8 qs[64], f16 d; weight 128c + 32s + m = (qs[32c + m] >> 2s & 3) - 1, times d
//   MXFP4 (17, 32 weights): u8 e (E8M0), u8 qs[16] (nibbles as Q4_0);
//     d = e8m0_to_fp32_half(e) (e < 2: bits 0x00200000 << e, else (e - 1) << 23); d * kvalues_mxfp4[q]
//   NVFP4 (36, 64 weights): u8 d[4] (UE4M3 per 16 weights), u8 qs[32]; sub-block s: low nibbles of
//     qs[8s .. 8s+7] -> weights 16s .. 16s+7, high nibbles -> 16s+8 .. 16s+15;
//     ue4m3(d[s]) / 2 * kvalues_mxfp4[q] (d[s] 0 or 0x7f -> 0)
// Reference: llama.cpp ggml-cuda/convert.cu dequantize_block_tq1_0 / tq2_0 / mxfp4,
// ggml_e8m0_to_fp32_half / ggml_ue4m3_to_fp32 (ggml-impl.h); gguf-py TQ1_0 ... NVFP4.dequantize_blocks.
#ifndef BOOSTR_QUANT_TERNARY_FP4_CUH
#define BOOSTR_QUANT_TERNARY_FP4_CUH

__device__ __forceinline__ int trit(u32 x, u32 p3) { return (int)((((x * p3) & 255u) * 3u) >> 8) - 1; }

__device__ __forceinline__ void dec8_tq1_0(const u8* b, int j, float* v) {
  const float d = ldh(b + 52);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int e = 8 * j + i;
    u32 x, n;
    if (e < 160) {
      x = b[e & 31];
      n = (u32)(e >> 5);
    } else if (e < 240) {
      x = b[32 + ((e - 160) & 15)];
      n = (u32)((e - 160) >> 4);
    } else {
      x = b[48 + ((e - 240) & 3)];
      n = (u32)((e - 240) >> 2);
    }
    const u32 p3 = n == 0 ? 1u : n == 1 ? 3u : n == 2 ? 9u : n == 3 ? 27u : 81u;
    v[i] = fmul(d, (float)trit(x, p3));
  }
}

__device__ __forceinline__ void dec8_tq2_0(const u8* b, int j, float* v) {
  const int e0 = 8 * j, c = e0 >> 7, s = (e0 >> 5) & 3;
  const float d = ldh(b + 64);
  const u8* qs = b + 32 * c + (e0 & 31);
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = fmul(d, (float)((int)((qs[i] >> (2 * s)) & 3u) - 1));
}

__device__ __forceinline__ float e8m0_half(u32 e) { return __uint_as_float(e < 2u ? (0x00200000u << e) : ((e - 1u) << 23)); }

__device__ __forceinline__ void dec8_mxfp4(const u8* b, int j, float* v) {
  const float d = e8m0_half(b[0]);
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = fmul(d, k_kv[nib32(b + 1, 8 * j + i)]);
}

// ggml_ue4m3_to_fp32(x) * 0.5 (exact): exponent 0 -> man * 2^-10, else (1 + man / 8) * 2^(exp - 8).
__device__ __forceinline__ float ue4m3_half(u32 x) {
  if (x == 0u || x == 0x7fu) return 0.0f;
  const u32 ex = (x >> 3) & 15u, man = x & 7u;
  if (ex == 0u) return (float)man * 0.0009765625f;
  return __uint_as_float(((ex + 119u) << 23) | (man << 20));
}

__device__ __forceinline__ void dec8_nvfp4(const u8* b, int j, float* v) {
  const int s = j >> 1, hi = j & 1;
  const float d = ue4m3_half(b[s]);
  const u8* qs = b + 4 + 8 * s;
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = fmul(d, k_kv[hi ? (qs[i] >> 4) : (qs[i] & 15u)]);
}
#endif  // BOOSTR_QUANT_TERNARY_FP4_CUH
