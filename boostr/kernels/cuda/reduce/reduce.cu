// Row reductions of x [R, C] for dtype ${N}: sum prod max min argmax argmin any all
// (``op`` indexes boostr.runtime.hooks.REDUCE_OPS), accumulated in ${R}.
//
// Formula: out[r] = fold(op, x[r, 0..C)); max/min propagate NaN; argmax/argmin give the first
// index of the extreme and a NaN wins; any/all treat x as bool.
// Layout: grid = R * S blocks; block b reduces columns [s*chunk, min(C, (s+1)*chunk)) of row
// r = b / S (s = b % S). With S == 1 the block writes out[r] (${N} for sum..min, i64 for arg
// ops, bool for any/all); otherwise it writes partial (value, index) pairs pv/pi [R, S] that a
// second launch of ``reduce_partials`` (x = pv, xi = pi, C = S, S = 1) folds.
// Reference: Harris, "Optimizing Parallel Reduction in CUDA" (2007); numpy argmax NaN rule.
#include "../common/block.cuh"
#include "../common/math.cuh"

typedef ${T} T;
typedef ${R} RA;

template <class X> __device__ __forceinline__ X lowest() { return (X)(-pos_inf<X>()); }
template <class X> __device__ __forceinline__ X highest() { return pos_inf<X>(); }
template <> __device__ __forceinline__ i64 lowest<i64>() { return (i64)0x8000000000000000ULL; }
template <> __device__ __forceinline__ i64 highest<i64>() { return 0x7fffffffffffffffLL; }
template <> __device__ __forceinline__ int lowest<int>() { return (int)0x80000000u; }
template <> __device__ __forceinline__ int highest<int>() { return 0x7fffffff; }
template <> __device__ __forceinline__ u32 lowest<u32>() { return 0u; }
template <> __device__ __forceinline__ u32 highest<u32>() { return 0xffffffffu; }

template <int OP> __device__ __forceinline__ RA identity() {
  if (OP == 0 || OP == 6) return (RA)0;
  if (OP == 1 || OP == 7) return (RA)1;
  if (OP == 2 || OP == 4) return lowest<RA>();
  return highest<RA>();
}

template <int OP> __device__ __forceinline__ void combine(RA& acc, i64& ai, RA v, i64 id) {
  if (OP == 0) acc = acc + v;
  else if (OP == 1) acc = acc * v;
  else if (OP == 2) acc = m_max(acc, v);
  else if (OP == 3) acc = m_min(acc, v);
  else if (OP == 6) acc = (acc != (RA)0 || v != (RA)0) ? (RA)1 : (RA)0;
  else if (OP == 7) acc = (acc != (RA)0 && v != (RA)0) ? (RA)1 : (RA)0;
  else {
    bool better = OP == 4 ? v > acc : v < acc;
    bool take = is_nan(v) ? (!is_nan(acc) || id < ai) : (!is_nan(acc) && (better || (v == acc && id < ai)));
    if (take) { acc = v; ai = id; }
  }
}

template <int OP, class V>
__device__ __forceinline__ void reduce_body(const V* x, const i64* xi, void* out, RA* pv, i64* pi, i64 C, i64 chunk, i64 S) {
  __shared__ RA sv[32];
  __shared__ i64 si[32];
  const i64 r = blockIdx.x / S, s = blockIdx.x % S;
  const i64 c0 = s * chunk, c1 = min(C, c0 + chunk);
  const V* xr = x + r * C;
  RA acc = identity<OP>();
  i64 ai = 0x7fffffffffffffffLL;
#pragma unroll 4
  for (i64 c = c0 + threadIdx.x; c < c1; c += blockDim.x) combine<OP>(acc, ai, (RA)load(xr, c), xi ? xi[r * C + c] : c);
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) {
    RA v2 = __shfl_down_sync(0xffffffffu, acc, d);
    i64 i2 = __shfl_down_sync(0xffffffffu, ai, d);
    combine<OP>(acc, ai, v2, i2);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  if (lane == 0) { sv[warp] = acc; si[warp] = ai; }
  __syncthreads();
  if (threadIdx.x != 0) return;
  acc = sv[0];
  ai = si[0];
  for (int k = 1; k < nw; ++k) combine<OP>(acc, ai, sv[k], si[k]);
  if (S > 1) {
    pv[blockIdx.x] = acc;
    pi[blockIdx.x] = ai;
  } else if (OP <= 3) {
    ((T*)out)[r] = put<T>(acc);
  } else if (OP <= 5) {
    ((i64*)out)[r] = ai;
  } else {
    ((bool*)out)[r] = acc != (RA)0;
  }
}

#define RCASES(V, XI)                                                                 \
  switch (op) {                                                                       \
    case 0: reduce_body<0, V>(x, XI, out, pv, pi, C, chunk, S); break;                \
    case 1: reduce_body<1, V>(x, XI, out, pv, pi, C, chunk, S); break;                \
    case 2: reduce_body<2, V>(x, XI, out, pv, pi, C, chunk, S); break;                \
    case 3: reduce_body<3, V>(x, XI, out, pv, pi, C, chunk, S); break;                \
    case 4: reduce_body<4, V>(x, XI, out, pv, pi, C, chunk, S); break;                \
    case 5: reduce_body<5, V>(x, XI, out, pv, pi, C, chunk, S); break;                \
    case 6: reduce_body<6, V>(x, XI, out, pv, pi, C, chunk, S); break;                \
    default: reduce_body<7, V>(x, XI, out, pv, pi, C, chunk, S); break;               \
  }

extern "C" __global__ void reduce_rows_${N}(const T* __restrict__ x, void* out, RA* pv, i64* pi, i64 C, i64 chunk,
                                            i64 S, i64 op) {
  RCASES(T, (const i64*)0)
}

extern "C" __global__ void reduce_partials_${N}(const RA* __restrict__ x, const i64* __restrict__ xi, void* out, i64 C,
                                                i64 op) {
  RA* pv = 0;
  i64* pi = 0;
  const i64 chunk = C, S = 1;
  RCASES(RA, xi)
}
