// Inclusive prefix sum along each row of x [R, C] for dtype ${N}, accumulated in ${A}.
//
// Formula: out[r, c] = sum_{j <= c} x[r, j].
// Layout: one block per row; the row is walked in tiles of blockDim * 8 elements, each thread
// owning 8 consecutive elements; a block-wide exclusive scan of the thread sums plus the
// running carry of earlier tiles gives each thread its starting offset.
// Reference: Blelloch, "Prefix Sums and Their Applications" (1990); numpy ``cumsum``.
#include "../common/block.cuh"

typedef ${T} T;
typedef ${A} A;
#define ITEMS 8

extern "C" __global__ void cumsum_rows_${N}(T* __restrict__ out, const T* __restrict__ x, i64 C) {
  __shared__ A sm[33];
  const T* xr = x + (i64)blockIdx.x * C;
  T* orow = out + (i64)blockIdx.x * C;
  A carry = (A)0;
  for (i64 base = 0; base < C; base += (i64)blockDim.x * ITEMS) {
    const i64 start = base + (i64)threadIdx.x * ITEMS;
    A v[ITEMS];
    A local = (A)0;
#pragma unroll
    for (int k = 0; k < ITEMS; ++k) {
      v[k] = start + k < C ? (A)load(xr, start + k) : (A)0;
      local += v[k];
    }
    A total;
    A run = carry + block_exclusive_scan(local, sm, &total);
#pragma unroll
    for (int k = 0; k < ITEMS; ++k) {
      run += v[k];
      if (start + k < C) orow[start + k] = put<T>(run);
    }
    carry += total;
  }
}
