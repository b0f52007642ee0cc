// 4-bit ${FU} GEMV (small M): out[m, n] = sum_k x[m, k] * W[n, k] for M <= MB rows of x, W
// decoded 8 weights at a time in registers (dec8 of int4.cuh, never written out), f32 sums.
//
// A 256-thread block covers RPB output columns x TPK threads along K. NFAST (AWQ, GPTQ: K-major
// words, neighbouring columns share or neighbour a word): lanes run along n (32 columns a
// block, tk = warp), so a warp reads one contiguous run of words per chunk; NF4 (rows
// contiguous): lanes run along K (8 rows a block, a warp a row). Thread (tn, tk) takes chunks
// tk, tk + TPK, ... of column n; the partial sums meet in shared memory.
// Layout: x [M, K] f32 contiguous, 16-byte aligned (K % 8 == 0 keeps every row aligned);
// out [M, N] f32 (row stride N). Entry points int4_gemv_${F}_m<MB>, MB in {1, 2, 4, 8}.
// Reference: AutoAWQ gemv kernels, exllama q4_matmul, llama.cpp ggml-cuda/mmvq.cu.
#include "int4.cuh"

#define NFAST ${NFAST}
#define TPK (NFAST ? 8 : 32)
#define RPB (256 / TPK)

template <int MB>
__device__ __forceinline__ void gemv_body(float* __restrict__ out, const float* __restrict__ x, const W4& w, i64 M) {
  __shared__ float red[MB][256];
  const int tid = threadIdx.x;
  const int tn = NFAST ? (tid % RPB) : (tid / TPK);
  const int tk = NFAST ? (tid / RPB) : (tid % TPK);
  const i64 n = (i64)blockIdx.x * RPB + tn;
  const i64 cpr = w.K / 8;
  float acc[MB];
#pragma unroll
  for (int m = 0; m < MB; ++m) acc[m] = 0.0f;
  if (n < w.N) {
    for (i64 c = tk; c < cpr; c += TPK) {
      float v[8];
      dec8(w, n, c, v);
#pragma unroll
      for (int m = 0; m < MB; ++m) {
        if (m < M) {
          const float4* xp = reinterpret_cast<const float4*>(x + m * w.K + 8 * c);
          const float4 a = __ldg(xp), b = __ldg(xp + 1);
          float s = acc[m];
          s = fmaf(v[0], a.x, s); s = fmaf(v[1], a.y, s); s = fmaf(v[2], a.z, s); s = fmaf(v[3], a.w, s);
          s = fmaf(v[4], b.x, s); s = fmaf(v[5], b.y, s); s = fmaf(v[6], b.z, s); s = fmaf(v[7], b.w, s);
          acc[m] = s;
        }
      }
    }
  }
#pragma unroll
  for (int m = 0; m < MB; ++m) red[m][tid] = acc[m];
  __syncthreads();
  if (tk == 0 && n < w.N) {
#pragma unroll
    for (int m = 0; m < MB; ++m) {
      if (m < M) {
        float s = 0.0f;
        for (int t = 0; t < TPK; ++t) s += red[m][NFAST ? t * RPB + tn : tn * TPK + t];
        out[m * w.N + n] = s;
      }
    }
  }
}

#define GEMV_ENTRY(MB)                                                                                       \
  extern "C" __global__ void __launch_bounds__(256) int4_gemv_${F}_m##MB(float* out, const float* x, i64 M, W4_ARGS) { \
    W4_MAKE;                                                                                                 \
    gemv_body<MB>(out, x, w, M);                                                                             \
  }
GEMV_ENTRY(1)
GEMV_ENTRY(2)
GEMV_ENTRY(4)
GEMV_ENTRY(8)
