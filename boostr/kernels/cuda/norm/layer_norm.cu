// LayerNorm over rows of x [R, C] for dtype ${N}, computed in ${A} with a two-pass variance.
//
// Formula: mean = sum(x) / C; var = sum((x - mean)^2) / C (biased);
// y = (x - mean) / sqrt(var + eps) * w + b, with w and b [C] optional (null pointers).
// Layout: one block per row; ``cache`` keeps the row in dynamic shared memory
// (C * sizeof(${A}) bytes); ``vec``: 128-bit accesses.
// Reference: Ba, Kiros & Hinton, "Layer Normalization" (2016).
#include "../common/block.cuh"
#include "../common/math.cuh"
#include "../common/rows.cuh"

typedef ${T} T;
typedef ${A} A;

extern "C" __global__ void layer_norm_rows_${N}(T* __restrict__ out, const T* __restrict__ x, const T* __restrict__ w,
                                                const T* __restrict__ b, i64 C, double eps, i64 cache, i64 vec) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  A* row = reinterpret_cast<A*>(smem_raw);
  __shared__ A red[33];
  const T* xr = x + (i64)blockIdx.x * C;
  T* orow = out + (i64)blockIdx.x * C;
  A sum = (A)0;
  row_read<T, A>(xr, C, vec, [&](i64 c, A v) {
    if (cache) row[cache_index<T>(c, C, vec)] = v;
    sum += v;
  });
  const A mean = block_reduce(sum, SumOp(), red) / (A)C;
  A sq = (A)0;
  row_read<T, A>(xr, cache ? 0 : C, vec, [&](i64 c, A v) { sq += (v - mean) * (v - mean); });
  if (cache)
    for (i64 c = threadIdx.x; c < C; c += blockDim.x) sq += (row[c] - mean) * (row[c] - mean);
  const A inv = (A)1 / m_sqrt(block_reduce(sq, SumOp(), red) / (A)C + (A)eps);
  row_write(orow, C, vec, [&](i64 c) {
    A y = ((cache ? row[cache_index<T>(c, C, vec)] : (A)wide(xr[c])) - mean) * inv;
    if (w) y *= (A)wide(w[c]);
    if (b) y += (A)wide(b[c]);
    return y;
  });
}
