// Math functions overloaded for the compute types (f32, f64, and integers through f64).
//
// Formula: each ``m_<fn>`` is the libdevice function of its argument type; integer arguments
// go through f64 and are cast back. NaN-propagating max/min follow numpy maximum/minimum.
// Layout: scalar functions, no memory access.
// Reference: CUDA Math API (libdevice); numpy ufunc definitions.
#ifndef BOOSTR_MATH_CUH
#define BOOSTR_MATH_CUH
#include "dtypes.cuh"

#define MATH1(name, ff, fd)                                                             \
  __device__ __forceinline__ float name(float x) { return ff(x); }                      \
  __device__ __forceinline__ double name(double x) { return fd(x); }                    \
  template <class X> __device__ __forceinline__ X name(X x) { return (X)fd((double)x); }

MATH1(m_sqrt, sqrtf, sqrt)
MATH1(m_exp, expf, exp)
MATH1(m_log, logf, log)
MATH1(m_log1p, log1pf, log1p)
MATH1(m_sin, sinf, sin)
MATH1(m_cos, cosf, cos)
MATH1(m_tanh, tanhf, tanh)
MATH1(m_erf, erff, erf)
MATH1(m_floor, floorf, floor)
MATH1(m_ceil, ceilf, ceil)
MATH1(m_rint, rintf, rint)

__device__ __forceinline__ float m_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double m_abs(double x) { return fabs(x); }
template <class X> __device__ __forceinline__ X m_abs(X x) { return x < (X)0 ? (X)(-x) : x; }

__device__ __forceinline__ float m_pow(float a, float b) { return powf(a, b); }
__device__ __forceinline__ double m_pow(double a, double b) { return pow(a, b); }
template <class X> __device__ __forceinline__ X m_pow(X a, X b) {  // integer power, b >= 0
  if (b < (X)0) return a == (X)1 ? (X)1 : (a == (X)(-1) ? ((b & 1) ? a : (X)1) : (X)0);
  X r = 1;
  while (b) {
    if (b & 1) r = (X)(r * a);
    a = (X)(a * a);
    b = (X)(b >> 1);
  }
  return r;
}
__device__ __forceinline__ bool m_pow(bool a, bool b) { return a || !b; }

__device__ __forceinline__ float m_fma(float a, float b, float c) { return fmaf(a, b, c); }
__device__ __forceinline__ double m_fma(double a, double b, double c) { return fma(a, b, c); }

template <class X> __device__ __forceinline__ X m_max(X a, X b) { return is_nan(a) ? a : (is_nan(b) ? b : (a > b ? a : b)); }
template <class X> __device__ __forceinline__ X m_min(X a, X b) { return is_nan(a) ? a : (is_nan(b) ? b : (a < b ? a : b)); }
template <class X> __device__ __forceinline__ X pos_inf() { return (X)__int_as_float(0x7f800000); }
template <> __device__ __forceinline__ double pos_inf<double>() { return __longlong_as_double(0x7ff0000000000000LL); }
#endif  // BOOSTR_MATH_CUH
