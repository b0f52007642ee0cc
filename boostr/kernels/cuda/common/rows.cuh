// Row walkers for the one-block-per-row kernels (softmax, rms_norm, layer_norm, ...).
//
// Formula: row_read calls f(c, wide(x[c])) for the columns c this thread owns; row_write
// stores put<T>(f(c)) to out[c]. Cached rows use cache_index for their shared-memory slots. With ``vec`` the thread owns groups of 16 bytes
// (16 / sizeof(T) elements, loaded with one 128-bit access); otherwise single elements.
// Layout: x and out point at the row start; ``vec`` requires C % (16 / sizeof(T)) == 0 and
// 16-byte aligned row starts (checked on the host).
// Reference: CUDA C++ Best Practices Guide, "Coalesced Access to Global Memory".
#ifndef BOOSTR_ROWS_CUH
#define BOOSTR_ROWS_CUH
#include "dtypes.cuh"

template <class T> struct VecN { enum { N = 16 / sizeof(T) }; };

template <class T> union Pack {
  uint4 v;
  T e[VecN<T>::N];
};

// Shared-memory slot of column c: with ``vec`` group-major ((c % N) * (C / N) + c / N) so that
// the threads of a warp touch consecutive words (no bank conflicts); otherwise c.
template <class T> __device__ __forceinline__ i64 cache_index(i64 c, i64 C, bool vec) {
  const int N = VecN<T>::N;
  return vec ? (c % N) * (C / N) + c / N : c;
}

template <class T, class A, class F> __device__ __forceinline__ void row_read(const T* xr, i64 C, bool vec, F f) {
  const int N = VecN<T>::N;
  if (vec) {
    for (i64 g = threadIdx.x; g * N < C; g += blockDim.x) {
      Pack<T> u;
      u.v = *reinterpret_cast<const uint4*>(xr + g * N);
#pragma unroll
      for (int k = 0; k < N; ++k) f(g * N + k, (A)wide(u.e[k]));
    }
  } else {
    for (i64 c = threadIdx.x; c < C; c += blockDim.x) f(c, (A)wide(xr[c]));
  }
}

template <class T, class F> __device__ __forceinline__ void row_write(T* orow, i64 C, bool vec, F f) {
  const int N = VecN<T>::N;
  if (vec) {
    for (i64 g = threadIdx.x; g * N < C; g += blockDim.x) {
      Pack<T> u;
#pragma unroll
      for (int k = 0; k < N; ++k) u.e[k] = put<T>(f(g * N + k));
      *reinterpret_cast<uint4*>(orow + g * N) = u.v;
    }
  } else {
    for (i64 c = threadIdx.x; c < C; c += blockDim.x) orow[c] = put<T>(f(c));
  }
}
#endif  // BOOSTR_ROWS_CUH
