// Byte-exact copy and fill for every storage type (the dtype only fixes the element size).
//
// Formula: dst[o_dst(i)] = src[o_src(i)] (copy), dst[o_dst(i)] = bits (fill), for flat i < n.
// Layout: contiguous variants index both sides by i; strided variants take a Layout with
// operand 0 = dst, operand 1 = src (element strides, offsets already in the pointers).
// Reference: numpy ``copyto`` / ``ndarray.fill`` semantics.
#include "../common/dtypes.cuh"

#define RAW_ENTRIES(B, U)                                                                              \
  extern "C" __global__ void copy_contig_b##B(U* __restrict__ dst, const U* __restrict__ src, i64 n) {     \
    GRID_STRIDE(i, n) dst[i] = src[i];                                                                   \
  }                                                                                                      \
  extern "C" __global__ void copy_strided_b##B(U* dst, const U* src, i64 n, const Layout L) {           \
    GRID_STRIDE(i, n) { i64 o[2]; layout_offsets<2>(L, i, o); dst[o[0]] = src[o[1]]; }                   \
  }                                                                                                      \
  extern "C" __global__ void fill_contig_b##B(U* __restrict__ dst, i64 n, u64 bits) {                    \
    GRID_STRIDE(i, n) dst[i] = (U)bits;                                                                  \
  }                                                                                                      \
  extern "C" __global__ void fill_strided_b##B(U* dst, i64 n, u64 bits, const Layout L) {                \
    GRID_STRIDE(i, n) { i64 o[1]; layout_offsets<1>(L, i, o); dst[o[0]] = (U)bits; }                     \
  }

RAW_ENTRIES(1, unsigned char)
RAW_ENTRIES(2, unsigned short)
RAW_ENTRIES(4, unsigned int)
RAW_ENTRIES(8, u64)
