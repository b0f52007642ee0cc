// Storage types, conversions and strided layouts shared by every boostr CUDA kernel.
//
// Formula: every dtype is loaded into its compute type (``Acc<T>``: f32 for f16, bf16 and
// fp8; the type itself otherwise), computed on, and stored back with ``put<D>(v)``:
//   bf16 = upper 16 bits of the f32 pattern, rounded to nearest even (NaN stays NaN);
//   f16  = PTX cvt.rn (round to nearest even);
//   fp8 e4m3fn: 1-4-3, bias 7, no inf, saturates to +-448, NaN = 0x7f;
//   fp8 e5m2:   1-5-2, bias 15, IEEE-like, overflow rounds to inf;
//   to bool is ``v != 0``; float to int truncates toward zero (C cast).
// Layout: ``Layout`` holds up to BMAXD dims (already coalesced on the host) and element
// strides for up to 4 operands; flat index i walks the shape row-major.
// Reference: OCP 8-bit Floating Point Specification (OFP8) r1.0; PTX ISA 8.x ``cvt``;
// Kalamkar et al. 2019 (bfloat16).
#ifndef BOOSTR_DTYPES_CUH
#define BOOSTR_DTYPES_CUH

typedef long long i64;
typedef unsigned long long u64;
typedef unsigned int u32;

struct f16_t { unsigned short x; };
struct bf16_t { unsigned short x; };
struct e4m3_t { unsigned char x; };
struct e5m2_t { unsigned char x; };

#define BMAXD 16
struct Layout {
  i64 ndim;
  i64 shape[BMAXD];
  i64 st[4][BMAXD];
};

// ---------------------------------------------------------------- scalar conversions
__device__ __forceinline__ float f16_to_f32(unsigned short h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}
__device__ __forceinline__ unsigned short f32_to_f16(float f) {
  unsigned short h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
}
__device__ __forceinline__ unsigned short f64_to_f16(double d) {
  unsigned short h;
  asm("cvt.rn.f16.f64 %0, %1;" : "=h"(h) : "d"(d));
  return h;
}
__device__ __forceinline__ float bf16_to_f32(unsigned short b) { return __uint_as_float(((u32)b) << 16); }
__device__ __forceinline__ unsigned short f32_to_bf16(float f) {
  u32 u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (unsigned short)(u >> 16);
}
__device__ __forceinline__ float e4m3_to_f32(unsigned char b) {
  u32 s = ((u32)b & 0x80u) << 24, e = ((u32)b >> 3) & 0xfu, m = (u32)b & 7u;
  if ((b & 0x7fu) == 0x7fu) return __uint_as_float(s | 0x7fc00000u);
  if (e == 0) return __uint_as_float(s | __float_as_uint((float)m * 0.001953125f));  // m * 2^-9
  return __uint_as_float(s | ((e + 120u) << 23) | (m << 20));
}
__device__ __forceinline__ unsigned char f32_to_e4m3(float f) {
  u32 s = (__float_as_uint(f) >> 24) & 0x80u;
  float a = fabsf(f);
  if (a != a) return (unsigned char)(s | 0x7fu);
  if (a >= 448.f) return (unsigned char)(s | 0x7eu);  // saturate (inf included)
  if (a < 0.015625f) return (unsigned char)(s | (u32)__float2int_rn(a * 512.f));  // subnormal, 2^-9 steps
  u32 bits = __float_as_uint(a);
  u32 r = ((((bits >> 23) - 120u) << 23) | (bits & 0x7fffffu));
  r = (r + 0x7ffffu + ((r >> 20) & 1u)) >> 20;
  return (unsigned char)(s | (r > 0x7eu ? 0x7eu : r));
}
__device__ __forceinline__ float e5m2_to_f32(unsigned char b) {
  u32 s = ((u32)b & 0x80u) << 24, e = ((u32)b >> 2) & 0x1fu, m = (u32)b & 3u;
  if (e == 31u) return __uint_as_float(s | (m ? 0x7fc00000u : 0x7f800000u));
  if (e == 0) return __uint_as_float(s | __float_as_uint((float)m * 1.52587890625e-05f));  // m * 2^-16
  return __uint_as_float(s | ((e + 112u) << 23) | (m << 21));
}
__device__ __forceinline__ unsigned char f32_to_e5m2(float f) {
  u32 s = (__float_as_uint(f) >> 24) & 0x80u;
  float a = fabsf(f);
  if (a != a) return (unsigned char)(s | 0x7eu);
  if (a >= 61440.f) return (unsigned char)(s | 0x7cu);  // halfway to 2^16 rounds to inf
  if (a < 6.103515625e-05f) return (unsigned char)(s | (u32)__float2int_rn(a * 65536.f));  // 2^-16 steps
  u32 bits = __float_as_uint(a);
  u32 r = ((((bits >> 23) - 112u) << 23) | (bits & 0x7fffffu));
  r = (r + 0xfffffu + ((r >> 21) & 1u)) >> 21;
  return (unsigned char)(s | r);
}

// ---------------------------------------------------------------- compute types
template <class T> struct Acc { typedef T type; };
template <> struct Acc<f16_t> { typedef float type; };
template <> struct Acc<bf16_t> { typedef float type; };
template <> struct Acc<e4m3_t> { typedef float type; };
template <> struct Acc<e5m2_t> { typedef float type; };

template <class T> __device__ __forceinline__ T wide(T v) { return v; }
__device__ __forceinline__ float wide(f16_t v) { return f16_to_f32(v.x); }
__device__ __forceinline__ float wide(bf16_t v) { return bf16_to_f32(v.x); }
__device__ __forceinline__ float wide(e4m3_t v) { return e4m3_to_f32(v.x); }
__device__ __forceinline__ float wide(e5m2_t v) { return e5m2_to_f32(v.x); }

template <class D> struct Put {
  template <class S> static __device__ __forceinline__ D from(S v) { return (D)v; }
};
template <> struct Put<bool> {
  template <class S> static __device__ __forceinline__ bool from(S v) { return v != (S)0; }
};
template <> struct Put<f16_t> {
  static __device__ __forceinline__ f16_t from(float v) { f16_t r; r.x = f32_to_f16(v); return r; }
  static __device__ __forceinline__ f16_t from(double v) { f16_t r; r.x = f64_to_f16(v); return r; }
  template <class S> static __device__ __forceinline__ f16_t from(S v) { return from((float)v); }
};
template <> struct Put<bf16_t> {
  template <class S> static __device__ __forceinline__ bf16_t from(S v) { bf16_t r; r.x = f32_to_bf16((float)v); return r; }
};
template <> struct Put<e4m3_t> {
  template <class S> static __device__ __forceinline__ e4m3_t from(S v) { e4m3_t r; r.x = f32_to_e4m3((float)v); return r; }
};
template <> struct Put<e5m2_t> {
  template <class S> static __device__ __forceinline__ e5m2_t from(S v) { e5m2_t r; r.x = f32_to_e5m2((float)v); return r; }
};

template <class D, class S> __device__ __forceinline__ D put(S v) { return Put<D>::from(v); }
template <class D, class S> __device__ __forceinline__ D cvt(S v) { return Put<D>::from(wide(v)); }

template <class T> __device__ __forceinline__ typename Acc<T>::type load(const T* p, i64 i) { return wide(p[i]); }

template <class T> __device__ __forceinline__ bool is_nan(T v) { return v != v; }

// ---------------------------------------------------------------- strided offsets
// Element offsets of flat index i for the first NOPS operands of L.
template <int NOPS> __device__ __forceinline__ void layout_offsets(const Layout& L, i64 i, i64* off) {
#pragma unroll
  for (int k = 0; k < NOPS; ++k) off[k] = 0;
  for (int d = (int)L.ndim - 1; d >= 0; --d) {
    i64 n = L.shape[d];
    i64 c = i % n;
    i /= n;
#pragma unroll
    for (int k = 0; k < NOPS; ++k) off[k] += c * L.st[k][d];
  }
}

#define GRID_STRIDE(i, n) for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)gridDim.x * blockDim.x)
#endif  // BOOSTR_DTYPES_CUH
