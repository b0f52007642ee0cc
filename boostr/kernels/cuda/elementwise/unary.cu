// Unary elementwise ops for dtype ${N}; ``op`` indexes boostr.runtime.hooks.UNARY_OPS.
//
// Formula (x in the compute type: f32 for halves):
//   sigmoid = 1 / (1 + exp(-x)); silu = x * sigmoid(x); softplus = max(x, 0) + log1p(exp(-|x|));
//   gelu_tanh = x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))); gelu_erf = x/2 * (1 + erf(x / sqrt 2));
//   round = half to even; sign(NaN) = NaN; relu(NaN) = NaN.
// Layout: out contiguous [n]; ``unary_contig`` reads x[i]; ``unary_strided`` reads x through a
// Layout (operand 0 = x).
// Reference: numpy ufuncs; Hendrycks & Gimpel 2016 (GELU); Elfwing et al. 2017 (SiLU).
#include "../common/math.cuh"

typedef ${T} T;
typedef Acc<T>::type A;

template <int OP> __device__ __forceinline__ A ufn(A x) {
  if (OP == 0) return (A)(-x);
  if (OP == 1) return m_abs(x);
  if (OP == 2) return m_sqrt(x);
  if (OP == 3) return (A)1 / m_sqrt(x);
  if (OP == 4) return m_exp(x);
  if (OP == 5) return m_log(x);
  if (OP == 6) return m_sin(x);
  if (OP == 7) return m_cos(x);
  if (OP == 8) return m_tanh(x);
  if (OP == 9) return m_erf(x);
  if (OP == 10) return (A)1 / ((A)1 + m_exp((A)(-x)));
  if (OP == 11) return x < (A)0 ? (A)0 : x;
  if (OP == 12) return x / ((A)1 + m_exp((A)(-x)));
  if (OP == 13) return (A)0.5 * x * ((A)1 + m_tanh((A)0.7978845608028654 * (x + (A)0.044715 * x * x * x)));
  if (OP == 14) return (A)0.5 * x * ((A)1 + m_erf(x * (A)0.7071067811865476));
  if (OP == 15) return (x > (A)0 ? x : (A)0) + m_log1p(m_exp((A)(-m_abs(x))));
  if (OP == 16) return (A)!x;
  if (OP == 17) return m_floor(x);
  if (OP == 18) return m_ceil(x);
  if (OP == 19) return m_rint(x);
  if (OP == 20) return x > (A)0 ? (A)1 : (x < (A)0 ? (A)(-1) : x);
  if (OP == 21) return (A)1 / x;
  return (A)(x * x);
}

template <int OP, bool STRIDED> __device__ __forceinline__ void unary_body(T* out, const T* x, i64 n, const Layout& L) {
  GRID_STRIDE(i, n) {
    i64 o = i;
    if (STRIDED) layout_offsets<1>(L, i, &o);
    out[i] = put<T>(ufn<OP>(load(x, o)));
  }
}

#define UCASES(S)                                                                                       \
  switch (op) {                                                                                         \
    case 0: unary_body<0, S>(out, x, n, L); break;   case 1: unary_body<1, S>(out, x, n, L); break;     \
    case 2: unary_body<2, S>(out, x, n, L); break;   case 3: unary_body<3, S>(out, x, n, L); break;     \
    case 4: unary_body<4, S>(out, x, n, L); break;   case 5: unary_body<5, S>(out, x, n, L); break;     \
    case 6: unary_body<6, S>(out, x, n, L); break;   case 7: unary_body<7, S>(out, x, n, L); break;     \
    case 8: unary_body<8, S>(out, x, n, L); break;   case 9: unary_body<9, S>(out, x, n, L); break;     \
    case 10: unary_body<10, S>(out, x, n, L); break; case 11: unary_body<11, S>(out, x, n, L); break;   \
    case 12: unary_body<12, S>(out, x, n, L); break; case 13: unary_body<13, S>(out, x, n, L); break;   \
    case 14: unary_body<14, S>(out, x, n, L); break; case 15: unary_body<15, S>(out, x, n, L); break;   \
    case 16: unary_body<16, S>(out, x, n, L); break; case 17: unary_body<17, S>(out, x, n, L); break;   \
    case 18: unary_body<18, S>(out, x, n, L); break; case 19: unary_body<19, S>(out, x, n, L); break;   \
    case 20: unary_body<20, S>(out, x, n, L); break; case 21: unary_body<21, S>(out, x, n, L); break;   \
    default: unary_body<22, S>(out, x, n, L); break;                                                    \
  }

extern "C" __global__ void unary_contig_${N}(T* __restrict__ out, const T* __restrict__ x, i64 n, i64 op) {
  Layout L;
  L.ndim = 0;
  UCASES(false)
}

extern "C" __global__ void unary_strided_${N}(T* __restrict__ out, const T* x, i64 n, i64 op, const Layout L) {
  UCASES(true)
}
