// RMSNorm and fused residual add + RMSNorm over rows of x [R, C] for dtype ${N}, in ${A}.
//
// Formula: rms_norm: y = x / sqrt(mean(x^2) + eps) * w;
// add_rms_norm: s = x + r (written to sum_out, rounded to ${N}); y = s / sqrt(mean(s^2) + eps) * w,
// computed from the unrounded s. w [C] is optional (null pointer = no weight).
// Layout: one block per row; ``cache`` keeps the row (x or s) in dynamic shared memory
// (C * sizeof(${A}) bytes) so global memory is read once; ``vec``: 128-bit accesses.
// Reference: Zhang & Sennrich, "Root Mean Square Layer Normalization" (2019).
#include "../common/block.cuh"
#include "../common/math.cuh"
#include "../common/rows.cuh"

typedef ${T} T;
typedef ${A} A;

__device__ __forceinline__ A weight_at(const T* w, i64 c) { return w ? (A)wide(w[c]) : (A)1; }

extern "C" __global__ void rms_norm_rows_${N}(T* __restrict__ out, const T* __restrict__ x, const T* __restrict__ w,
                                              i64 C, double eps, i64 cache, i64 vec) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  A* row = reinterpret_cast<A*>(smem_raw);
  __shared__ A red[33];
  const T* xr = x + (i64)blockIdx.x * C;
  T* orow = out + (i64)blockIdx.x * C;
  A ss = (A)0;
  row_read<T, A>(xr, C, vec, [&](i64 c, A v) {
    if (cache) row[cache_index<T>(c, C, vec)] = v;
    ss += v * v;
  });
  ss = block_reduce(ss, SumOp(), red);
  const A inv = (A)1 / m_sqrt(ss / (A)C + (A)eps);
  row_write(orow, C, vec, [&](i64 c) { return (cache ? row[cache_index<T>(c, C, vec)] : (A)wide(xr[c])) * inv * weight_at(w, c); });
}

extern "C" __global__ void add_rms_norm_rows_${N}(T* __restrict__ out, T* __restrict__ sum_out, const T* __restrict__ x,
                                                  const T* __restrict__ res, const T* __restrict__ w, i64 C, double eps,
                                                  i64 cache, i64 vec) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  A* row = reinterpret_cast<A*>(smem_raw);
  __shared__ A red[33];
  const i64 base = (i64)blockIdx.x * C;
  const T* xr = x + base;
  const T* rr = res + base;
  T* srow = sum_out + base;
  T* orow = out + base;
  A ss = (A)0;
  const int N = VecN<T>::N;
  if (vec) {
    for (i64 g = threadIdx.x; g * N < C; g += blockDim.x) {
      Pack<T> a, b, s;
      a.v = *reinterpret_cast<const uint4*>(xr + g * N);
      b.v = *reinterpret_cast<const uint4*>(rr + g * N);
#pragma unroll
      for (int k = 0; k < N; ++k) {
        const A v = (A)wide(a.e[k]) + (A)wide(b.e[k]);
        if (cache) row[k * (C / N) + g] = v;
        s.e[k] = put<T>(v);
        ss += v * v;
      }
      *reinterpret_cast<uint4*>(srow + g * N) = s.v;
    }
  } else {
    for (i64 c = threadIdx.x; c < C; c += blockDim.x) {
      const A v = (A)wide(xr[c]) + (A)wide(rr[c]);
      if (cache) row[cache_index<T>(c, C, vec)] = v;
      srow[c] = put<T>(v);
      ss += v * v;
    }
  }
  ss = block_reduce(ss, SumOp(), red);
  const A inv = (A)1 / m_sqrt(ss / (A)C + (A)eps);
  row_write(orow, C, vec, [&](i64 c) {
    const A v = cache ? row[cache_index<T>(c, C, vec)] : (A)wide(xr[c]) + (A)wide(rr[c]);
    return v * inv * weight_at(w, c);
  });
}
