// Dequantize 4-bit ${FU} weights to ${N}: out[n - n0, k] = W[n, k] for rows [n0, n1).
//
// Formula: out[n - n0, 8c .. 8c+7] = dec8(n, c) (int4.cuh; f32 exact, f16 / bf16 rounded to
// nearest even from it). Layout: the format's buffers (int4.cuh); out [n1 - n0, K] contiguous.
// A grid-stride loop gives each thread one 8-weight chunk i (n = n0 + i / (K / 8), c = i % (K / 8))
// at a time; ``vec``: out is 16-byte aligned (K % 8 == 0 keeps every chunk aligned for f16 / bf16,
// f32 chunks are two 16-byte stores).
// Reference: bitsandbytes kDequantizeBlockwise, AutoAWQ dequantize_gemm, AutoGPTQ forward.
#include "int4.cuh"

typedef ${T} T;

extern "C" __global__ void int4_dequant_${F}_${N}(T* __restrict__ out, W4_ARGS, i64 n0, i64 nchunks, i64 vec) {
  W4_MAKE;
  const i64 cpr = K / 8;
  GRID_STRIDE(i, nchunks) {
    float v[8];
    dec8(w, n0 + i / cpr, i % cpr, v);
    T* o = out + i * 8;
    if (vec != 0) {
      union { uint4 u[sizeof(T) * 8 / 16]; T e[8]; } p;
#pragma unroll
      for (int j = 0; j < 8; ++j) p.e[j] = put<T>(v[j]);
#pragma unroll
      for (int k = 0; k < (int)(sizeof(T) * 8 / 16); ++k) reinterpret_cast<uint4*>(o)[k] = p.u[k];
    } else {
#pragma unroll
      for (int j = 0; j < 8; ++j) o[j] = put<T>(v[j]);
    }
  }
}
