// Softmax / log-softmax of each row of x [R, C] for dtype ${N}, computed in ${A}.
//
// Formula: m = max(x) (NaN propagates), s = sum(exp(x - m));
// softmax = exp(x - m) / s, log_softmax = x - m - log(s). A row of -inf gives NaN, as torch.
// Layout: one block per row. With ``cache`` the row is read once into dynamic shared memory
// (C * sizeof(${A}) bytes) and global memory sees one read and one write per element;
// otherwise the row is re-read from global (L2) on each pass. ``vec``: 128-bit accesses.
// Reference: Milakov & Gimelshein, "Online normalizer calculation for softmax" (2018);
// torch.softmax semantics.
#include "../common/block.cuh"
#include "../common/math.cuh"
#include "../common/rows.cuh"

typedef ${T} T;
typedef ${A} A;

extern "C" __global__ void softmax_rows_${N}(T* __restrict__ out, const T* __restrict__ x, i64 C, i64 log_, i64 cache,
                                             i64 vec) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  A* row = reinterpret_cast<A*>(smem_raw);
  __shared__ A red[33];
  const T* xr = x + (i64)blockIdx.x * C;
  T* orow = out + (i64)blockIdx.x * C;
  A m = -pos_inf<A>();
  row_read<T, A>(xr, C, vec, [&](i64 c, A v) {
    if (cache) row[cache_index<T>(c, C, vec)] = v;
    m = MaxOp()(m, v);
  });
  m = block_reduce(m, MaxOp(), red);  // syncs: the cached row is visible to every thread
  A s = (A)0;
  row_read<T, A>(xr, cache ? 0 : C, vec, [&](i64 c, A v) { s += m_exp(v - m); });
  if (cache)
    for (i64 c = threadIdx.x; c < C; c += blockDim.x) s += m_exp(row[c] - m);
  s = block_reduce(s, SumOp(), red);
  if (log_) {
    const A ls = m_log(s);
    row_write(orow, C, vec, [&](i64 c) { return (cache ? row[cache_index<T>(c, C, vec)] : (A)wide(xr[c])) - m - ls; });
  } else {
    const A inv = (A)1 / s;
    row_write(orow, C, vec, [&](i64 c) { return m_exp((cache ? row[cache_index<T>(c, C, vec)] : (A)wide(xr[c])) - m) * inv; });
  }
}
