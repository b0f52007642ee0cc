// Fused multiply-add and clamp for dtype ${N}.
//
// Formula: fma: out = a * b + c with one rounding in the compute type (fmaf / fma), then
// rounded to ${N}; clamp: out = min(max(x, lo), hi) skipping absent bounds (NaN x stays NaN).
// Layout: out contiguous [n]. Strided fma takes a Layout with operands 0..2 = a, b, c;
// strided clamp takes operand 0 = x. ``flags`` bit 0: lo present, bit 1: hi present; bounds
// arrive as f64 (float dtypes) or i64 (integer dtypes).
// Reference: IEEE 754-2008 fusedMultiplyAdd; numpy ``clip``.
#include "../common/math.cuh"

typedef ${T} T;
typedef Acc<T>::type A;
#define IS_FLOAT ${ISF}

#if IS_FLOAT
template <bool STRIDED>
__device__ __forceinline__ void fma_body(T* out, const T* a, const T* b, const T* c, i64 n, const Layout& L) {
  GRID_STRIDE(i, n) {
    i64 o[3] = {i, i, i};
    if (STRIDED) layout_offsets<3>(L, i, o);
    out[i] = put<T>(m_fma(load(a, o[0]), load(b, o[1]), load(c, o[2])));
  }
}
extern "C" __global__ void fma_contig_${N}(T* __restrict__ out, const T* a, const T* b, const T* c, i64 n) {
  Layout L;
  L.ndim = 0;
  fma_body<false>(out, a, b, c, n, L);
}
extern "C" __global__ void fma_strided_${N}(T* __restrict__ out, const T* a, const T* b, const T* c, i64 n,
                                            const Layout L) {
  fma_body<true>(out, a, b, c, n, L);
}
#endif

template <bool STRIDED>
__device__ __forceinline__ void clamp_body(T* out, const T* x, A lo, A hi, i64 flags, i64 n, const Layout& L) {
  GRID_STRIDE(i, n) {
    i64 o = i;
    if (STRIDED) layout_offsets<1>(L, i, &o);
    A v = load(x, o);
    if ((flags & 1) && v < lo) v = lo;
    if ((flags & 2) && v > hi) v = hi;
    out[i] = put<T>(v);
  }
}
extern "C" __global__ void clamp_contig_${N}(T* __restrict__ out, const T* x, double lof, i64 loi, double hif, i64 hii,
                                             i64 flags, i64 n) {
  Layout L;
  L.ndim = 0;
  clamp_body<false>(out, x, IS_FLOAT ? (A)lof : (A)loi, IS_FLOAT ? (A)hif : (A)hii, flags, n, L);
}
extern "C" __global__ void clamp_strided_${N}(T* __restrict__ out, const T* x, double lof, i64 loi, double hif,
                                              i64 hii, i64 flags, i64 n, const Layout L) {
  clamp_body<true>(out, x, IS_FLOAT ? (A)lof : (A)loi, IS_FLOAT ? (A)hif : (A)hii, flags, n, L);
}
