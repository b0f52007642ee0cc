// Warp- and block-wide reductions and scans (shuffle within a warp, shared memory across warps).
//
// Formula: block_reduce(v, op) = op-fold of every thread's v (any associative op);
// block_exclusive_scan(v) = sum of v over lower thread indices.
// Layout: blockDim.x is a multiple of 32 and at most 1024; every thread of the block calls.
// Reference: CUDA C++ Programming Guide, "Warp Shuffle Functions"; Harris, "Optimizing
// Parallel Reduction in CUDA" (NVIDIA, 2007).
#ifndef BOOSTR_BLOCK_CUH
#define BOOSTR_BLOCK_CUH
#include "dtypes.cuh"

template <class T> __device__ __forceinline__ T shfl_down(T v, int d) { return __shfl_down_sync(0xffffffffu, v, d); }
__device__ __forceinline__ bool shfl_down(bool v, int d) { return __shfl_down_sync(0xffffffffu, (int)v, d) != 0; }

struct SumOp { template <class T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; } };
struct MaxOp {
  template <class T> __device__ __forceinline__ T operator()(T a, T b) const { return (b > a || is_nan(b)) && !is_nan(a) ? b : a; }
};

// Reduce v over the block; the result is valid in every thread. smem holds >= 32 T.
template <class T, class Op> __device__ __forceinline__ T block_reduce(T v, Op op, T* smem) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) v = op(v, shfl_down(v, d));
  __syncthreads();  // smem may be reused from a previous call
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    T acc = smem[0];
    for (int k = 1; k < nw; ++k) acc = op(acc, smem[k]);
    smem[0] = acc;
  }
  __syncthreads();
  return smem[0];
}

// Exclusive prefix sum of v over the threads of the block; *total gets the block sum.
template <class T> __device__ __forceinline__ T block_exclusive_scan(T v, T* smem, T* total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  T x = v;
#pragma unroll
  for (int d = 1; d < 32; d <<= 1) {
    T y = __shfl_up_sync(0xffffffffu, x, d);
    if (lane >= d) x += y;
  }
  T excl = __shfl_up_sync(0xffffffffu, x, 1);  // exclusive within the warp (no x - v: NaN/inf safe)
  if (lane == 0) excl = (T)0;
  __syncthreads();
  if (lane == 31) smem[warp] = x;
  __syncthreads();
  if (threadIdx.x == 0) {
    T run = (T)0;
    for (int k = 0; k < nw; ++k) { T t = smem[k]; smem[k] = run; run += t; }
    smem[32] = run;
  }
  __syncthreads();
  T r = smem[warp] + excl;
  *total = smem[32];
  return r;
}
#endif  // BOOSTR_BLOCK_CUH
