// Shared pieces of the attention kernels: the FlashAttention-2 mask, row loads into f32, warp reductions.
//
// Formula (mask, bottom-right aligned as boostr/ops/generic/attention_mask.py): with L valid keys and
// Sq queries, query i sits at p_i = i + L - Sq; key j is visible iff j < L and, when limited (causal or
// window), j <= p_i and, with a window w > 0, j > p_i - w. Scores are kept in log2 units
// (s * scale * log2 e) so softmax uses exp2; lse = ln 2 * (m + log2 l).
// Layout: Q/K/V rows are D contiguous elements; row addresses come from element strides.
// Reference: Dao, "FlashAttention-2: Faster Attention with Better Parallelism and Work Partitioning" (2023).
#ifndef BOOSTR_ATTN_COMMON_CUH
#define BOOSTR_ATTN_COMMON_CUH
#include "../common/dtypes.cuh"

#define LOG2E_F 1.4426950408889634f
#define LN2_F 0.6931471805599453f
#define NEG_INF_F (-__int_as_float(0x7f800000))

struct AttnMask {
  i64 sq, L, w;
  int limited;
  // [jlo, jhi): keys visible to at least one query of rows [i0, i1) (empty when jhi <= jlo)
  __device__ __forceinline__ void key_range(i64 i0, i64 i1, i64* jlo, i64* jhi) const {
    const i64 off = L - sq;
    i64 hi = limited ? (i1 - 1 + off + 1 < L ? i1 - 1 + off + 1 : L) : L;
    i64 lo = w > 0 ? (i0 + off - w + 1 > 0 ? i0 + off - w + 1 : 0) : 0;
    *jlo = lo;
    *jhi = hi > lo ? hi : lo;
  }
  __device__ __forceinline__ bool visible(i64 i, i64 j) const {
    const i64 p = i + L - sq;
    if (j >= L) return false;
    if (limited && j > p) return false;
    if (w > 0 && j <= p - w) return false;
    return true;
  }
};

__device__ __forceinline__ AttnMask make_mask(i64 sq, i64 L, i64 w, i64 limited) {
  AttnMask m;
  m.sq = sq;
  m.L = L;
  m.w = w;
  m.limited = (int)limited;
  return m;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Online-softmax bookkeeping: the running max with -inf replaced by 0 (so exp2(-inf - 0) = 0).
__device__ __forceinline__ float safe_max(float m) { return m == NEG_INF_F ? 0.f : m; }

// E consecutive elements of a row starting at p (E * sizeof(T) in {4, 8, 16} bytes with vec) into f32.
template <class T, int E> __device__ __forceinline__ void load_span(const T* p, float* out, bool vec) {
  if (vec && E * sizeof(T) == 16) {
    union { uint4 v; T e[E]; } u;
    u.v = *reinterpret_cast<const uint4*>(p);
#pragma unroll
    for (int e = 0; e < E; ++e) out[e] = (float)wide(u.e[e]);
  } else if (vec && E * sizeof(T) == 8) {
    union { uint2 v; T e[E]; } u;
    u.v = *reinterpret_cast<const uint2*>(p);
#pragma unroll
    for (int e = 0; e < E; ++e) out[e] = (float)wide(u.e[e]);
  } else {
#pragma unroll
    for (int e = 0; e < E; ++e) out[e] = (float)wide(p[e]);
  }
}

// The f32 lane slice of a D-element row: lane holds d = lane * E + e when D % 32 == 0 (contiguous
// spans, vector loads), else d = e * 32 + lane (bounds-checked, zero beyond D).
template <class T, int D> struct LaneRow {
  static constexpr int E = (D + 31) / 32;
  static constexpr bool CONTIG = (D % 32) == 0;
  static __device__ __forceinline__ int dim(int lane, int e) { return CONTIG ? lane * E + e : e * 32 + lane; }
  static __device__ __forceinline__ void load(const T* row, int lane, float* out, bool vec) {
    if (CONTIG) {
      load_span<T, E>(row + lane * E, out, vec);
    } else {
#pragma unroll
      for (int e = 0; e < E; ++e) {
        const int d = e * 32 + lane;
        out[e] = d < D ? (float)wide(row[d]) : 0.f;
      }
    }
  }
};
#endif  // BOOSTR_ATTN_COMMON_CUH
