// 8-weight decoders of the 4-bit formats NF4 (bitsandbytes), AWQ (AutoAWQ GEMM) and GPTQ
// (AutoGPTQ / exllama; act-order g_idx when ACT), one format per module (${FU}).
//
// Formula: dec8(w, n, c, v) writes W[n, 8c .. 8c+7] in f32: (q - z) * s (exact: small integer
// times an f16 scale), NF4: code * absmax rounded once (bitsandbytes' f32 product); the products
// go through __fmul_rn so they are never contracted into an FMA.
// Layout (boostr/quant/int4.py; every buffer 4-byte aligned, K % 8 == 0, group size % 8 == 0):
//   NF4:  qw = packed nibbles as u32: word n * K / 8 + c holds weights 8c .. 8c+7 of row n (byte
//         j: weight 2j high nibble, 2j + 1 low); sc = f32 absmax, block (n * K + 8c) / gs.
//   AWQ:  qw [K, NW] (NW = ceil(N / 8)): q[k, n] = nibble (n%8 >> 1) + 4 (n%8 & 1) of word
//         [k, n / 8] (AutoAWQ order [0, 2, 4, 6, 1, 3, 5, 7]); qz [G, NW] alike; sc f16 [G, N].
//   GPTQ: qw [K / 8, N]: q[k, n] = nibble k % 8 of word [k / 8, n]; qz [G, NW]: z = nibble n % 8
//         + zoff (1 for v1 checkpoints); sc f16 [G, N]; g = gi[k] (ACT) else k / gs.
// Reference: bitsandbytes csrc/kernels.cu (kDequantizeBlockwise, nf4 table), AutoAWQ
// awq/utils/packing_utils.py, AutoGPTQ qlinear_cuda_old.py.
#ifndef BOOSTR_INT4_CUH
#define BOOSTR_INT4_CUH
#include "../common/dtypes.cuh"

#define FMT_${FU} 1
#define ACT ${ACT}

__device__ const float k_nf4[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
    -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
    0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
    0.7229568362236023f, 1.0f};

struct W4 {
  const u32* __restrict__ qw;
  const void* __restrict__ sc;
  const u32* __restrict__ qz;
  const int* __restrict__ gi;
  i64 N, K, gs, zoff;
};

__device__ __forceinline__ float scale16(const W4& w, i64 i) {
  return f16_to_f32(__ldg(reinterpret_cast<const unsigned short*>(w.sc) + i));
}

__device__ __forceinline__ void dec8(const W4& w, i64 n, i64 c, float v[8]) {
#if defined(FMT_NF4)
  const u32 q = __ldg(w.qw + n * (w.K / 8) + c);
  const float a = __ldg(reinterpret_cast<const float*>(w.sc) + (n * w.K + 8 * c) / w.gs);
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    v[2 * j] = __fmul_rn(k_nf4[(q >> (8 * j + 4)) & 15u], a);
    v[2 * j + 1] = __fmul_rn(k_nf4[(q >> (8 * j)) & 15u], a);
  }
#elif defined(FMT_AWQ)
  const i64 nw = (w.N + 7) / 8;
  const i64 j = n >> 3;
  const int r = (int)(n & 7);
  const int sh = 4 * ((r >> 1) + 4 * (r & 1));
  const i64 g = (8 * c) / w.gs;
  const float s = scale16(w, g * w.N + n);
  const float z = (float)((__ldg(w.qz + g * nw + j) >> sh) & 15u);
  const u32* p = w.qw + 8 * c * nw + j;
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = __fmul_rn((float)((__ldg(p + i * nw) >> sh) & 15u) - z, s);
#else  // GPTQ
  const i64 nw = (w.N + 7) / 8;
  const u32 q = __ldg(w.qw + c * w.N + n);
  const int zsh = 4 * (int)(n & 7);
#if ACT
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const i64 g = __ldg(w.gi + 8 * c + i);
    const float z = (float)(((__ldg(w.qz + g * nw + (n >> 3)) >> zsh) & 15u) + w.zoff);
    v[i] = __fmul_rn((float)((q >> (4 * i)) & 15u) - z, scale16(w, g * w.N + n));
  }
#else
  const i64 g = (8 * c) / w.gs;
  const float z = (float)(((__ldg(w.qz + g * nw + (n >> 3)) >> zsh) & 15u) + w.zoff);
  const float s = scale16(w, g * w.N + n);
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = __fmul_rn((float)((q >> (4 * i)) & 15u) - z, s);
#endif
#endif
}

#define W4_ARGS const u32* qw, const void* sc, const u32* qz, const int* gi, i64 N, i64 K, i64 gs, i64 zoff
#define W4_MAKE W4 w = {qw, sc, qz, gi, N, K, gs, zoff}

#endif  // BOOSTR_INT4_CUH
