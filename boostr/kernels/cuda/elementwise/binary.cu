// Binary elementwise ops for dtype ${N}; ``op`` indexes boostr.runtime.hooks.BINARY_OPS.
//
// Formula: arithmetic (add sub mul div pow maximum minimum) writes ${N}; comparisons
// (eq ne lt le gt ge) and logical ops (and or xor) write bool. maximum/minimum propagate NaN;
// integer pow is exact repeated squaring. Halves compute in f32 and round once.
// Layout: out contiguous [n]. ``mode``: 0 = b is a tensor, 1 = b is the scalar (bsf for
// floats, bsi for integers), 2 = scalar with swapped operands (op(b, a)). The strided
// variant takes a Layout with operand 0 = a, 1 = b (stride 0 = broadcast).
// Reference: numpy ufunc semantics (add, true_divide, power, maximum, equal, logical_and, ...).
#include "../common/math.cuh"

typedef ${T} T;
typedef Acc<T>::type A;
#define IS_FLOAT ${ISF}

template <int OP> __device__ __forceinline__ A arith(A a, A b) {
  if (OP == 0) return (A)(a + b);
  if (OP == 1) return (A)(a - b);
  if (OP == 2) return (A)(a * b);
  if (OP == 3) return (A)(a / b);
  if (OP == 4) return m_pow(a, b);
  if (OP == 5) return m_max(a, b);
  return m_min(a, b);
}

template <int OP> __device__ __forceinline__ bool pred(A a, A b) {
  if (OP == 7) return a == b;
  if (OP == 8) return a != b;
  if (OP == 9) return a < b;
  if (OP == 10) return a <= b;
  if (OP == 11) return a > b;
  if (OP == 12) return a >= b;
  if (OP == 13) return (a != (A)0) && (b != (A)0);
  if (OP == 14) return (a != (A)0) || (b != (A)0);
  return (a != (A)0) != (b != (A)0);
}

template <int OP, bool STRIDED>
__device__ __forceinline__ void binary_body(void* out, const T* a, const T* b, A sb, i64 mode, i64 n, const Layout& L) {
  GRID_STRIDE(i, n) {
    i64 o[2] = {i, i};
    if (STRIDED) layout_offsets<2>(L, i, o);
    A x = load(a, o[0]);
    A y = mode == 0 ? load(b, o[1]) : sb;
    if (mode == 2) { A t = x; x = y; y = t; }
    if (OP < 7) ((T*)out)[i] = put<T>(arith<OP>(x, y));
    else ((bool*)out)[i] = pred<OP>(x, y);
  }
}

#define BCASES(S)                                                                                         \
  A sb = IS_FLOAT ? (A)bsf : (A)bsi;                                                                      \
  switch (op) {                                                                                           \
    case 0: binary_body<0, S>(out, a, b, sb, mode, n, L); break;                                          \
    case 1: binary_body<1, S>(out, a, b, sb, mode, n, L); break;                                          \
    case 2: binary_body<2, S>(out, a, b, sb, mode, n, L); break;                                          \
    case 3: binary_body<3, S>(out, a, b, sb, mode, n, L); break;                                          \
    case 4: binary_body<4, S>(out, a, b, sb, mode, n, L); break;                                          \
    case 5: binary_body<5, S>(out, a, b, sb, mode, n, L); break;                                          \
    case 6: binary_body<6, S>(out, a, b, sb, mode, n, L); break;                                          \
    case 7: binary_body<7, S>(out, a, b, sb, mode, n, L); break;                                          \
    case 8: binary_body<8, S>(out, a, b, sb, mode, n, L); break;                                          \
    case 9: binary_body<9, S>(out, a, b, sb, mode, n, L); break;                                          \
    case 10: binary_body<10, S>(out, a, b, sb, mode, n, L); break;                                        \
    case 11: binary_body<11, S>(out, a, b, sb, mode, n, L); break;                                        \
    case 12: binary_body<12, S>(out, a, b, sb, mode, n, L); break;                                        \
    case 13: binary_body<13, S>(out, a, b, sb, mode, n, L); break;                                        \
    case 14: binary_body<14, S>(out, a, b, sb, mode, n, L); break;                                        \
    default: binary_body<15, S>(out, a, b, sb, mode, n, L); break;                                        \
  }

extern "C" __global__ void binary_contig_${N}(void* __restrict__ out, const T* __restrict__ a, const T* __restrict__ b,
                                              double bsf, i64 bsi, i64 mode, i64 n, i64 op) {
  Layout L;
  L.ndim = 0;
  BCASES(false)
}

extern "C" __global__ void binary_strided_${N}(void* __restrict__ out, const T* a, const T* b, double bsf, i64 bsi,
                                               i64 mode, i64 n, i64 op, const Layout L) {
  BCASES(true)
}
