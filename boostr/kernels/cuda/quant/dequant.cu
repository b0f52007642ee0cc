// Dequantize GGML blocks of format ${F} (${BE} weights in ${BB} bytes a block) to ${N}.
//
// Formula: out[8c .. 8c+7] = dec8_${F}(block c / (BE / 8), chunk c % (BE / 8)) rounded to ${N}
// (f32: bit-exact with gguf.quants.dequantize; f16 / bf16 rounded to nearest even from f32).
// Layout: raw = the rows' blocks back to back (rows of K weights, K a multiple of BE); out
// [rows, K] contiguous, so chunk c of the flat block stream is out[8c:8c+8]. A grid-stride
// loop gives each thread one 8-weight chunk at a time; ``vec``: out is 16-byte aligned
// (128-bit stores). Block layouts: legacy.cuh, kquants.cuh, iq.cuh, ternary_fp4.cuh.
// Reference: llama.cpp ggml-cuda/convert.cu (dequantize_block_*); gguf-py gguf/quants.py.
#include "quant.cuh"

typedef ${T} T;
#define BE ${BE}
#define BB ${BB}
#define CPB (BE / 8)

template <class D> struct Out8 {
  static __device__ __forceinline__ void store(D* o, const float* v, bool vec) {
    if (vec) {
      union { uint4 u[sizeof(D) * 8 / 16]; D e[8]; } p;
#pragma unroll
      for (int i = 0; i < 8; ++i) p.e[i] = put<D>(v[i]);
#pragma unroll
      for (int k = 0; k < (int)(sizeof(D) * 8 / 16); ++k) reinterpret_cast<uint4*>(o)[k] = p.u[k];
    } else {
#pragma unroll
      for (int i = 0; i < 8; ++i) o[i] = put<D>(v[i]);
    }
  }
};

extern "C" __global__ void dequant_${F}_${N}(T* __restrict__ out, const u8* __restrict__ raw, i64 nchunks, i64 vec) {
  GRID_STRIDE(c, nchunks) {
    float v[8];
    dec8_${F}(raw + (c / CPB) * BB, (int)(c % CPB), v);
    Out8<T>::store(out + c * 8, v, vec != 0);
  }
}
