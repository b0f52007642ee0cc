// Select: out[i] = cond[i] ? a[i] : b[i] for every storage type (moved as raw bits).
//
// Formula: out = cond ? a : b, where a or b may be a scalar given as its dtype's bit pattern.
// Layout: out contiguous; the strided variant takes a Layout with operand 0 = cond, 1 = a,
// 2 = b. ``mode`` bit 0: a is the scalar ``abits``; bit 1: b is the scalar ``bbits``.
// Reference: numpy ``where``.
#include "../common/dtypes.cuh"

#define WHERE_ENTRIES(B, U)                                                                            \
  extern "C" __global__ void where_contig_b##B(U* __restrict__ out, const bool* __restrict__ c, const U* a, \
                                               const U* b, u64 abits, u64 bbits, i64 mode, i64 n) {     \
    GRID_STRIDE(i, n) {                                                                                  \
      out[i] = c[i] ? ((mode & 1) ? (U)abits : a[i]) : ((mode & 2) ? (U)bbits : b[i]);                 \
    }                                                                                                    \
  }                                                                                                      \
  extern "C" __global__ void where_strided_b##B(U* __restrict__ out, const bool* c, const U* a, const U* b, \
                                                u64 abits, u64 bbits, i64 mode, i64 n, const Layout L) {  \
    GRID_STRIDE(i, n) {                                                                                  \
      i64 o[3];                                                                                          \
      layout_offsets<3>(L, i, o);                                                                        \
      out[i] = c[o[0]] ? ((mode & 1) ? (U)abits : a[o[1]]) : ((mode & 2) ? (U)bbits : b[o[2]]);         \
    }                                                                                                    \
  }

WHERE_ENTRIES(1, unsigned char)
WHERE_ENTRIES(2, unsigned short)
WHERE_ENTRIES(4, unsigned int)
WHERE_ENTRIES(8, u64)
