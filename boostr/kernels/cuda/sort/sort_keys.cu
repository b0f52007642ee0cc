// Order-preserving unsigned sort keys for dtype ${N} (the sort itself is CuPy's stable argsort).
//
// Formula: unsigned ints and bool: k = v; signed ints: k = v ^ sign bit; floats (bits b):
// -0 is folded to +0, NaN maps to the largest key, else k = sign ? ~b : b | sign bit.
// ``descending`` flips every key (k = ~k), so a stable ascending sort of the keys gives a
// stable descending order (ties keep the lower index first; NaN sorts as largest).
// Layout: x [R, C] and keys contiguous [n = R * C] of u64. For <= 4-byte types the key is packed
// as (k << 32) | c with c the column, so a plain ascending sort of each row is stable by
// construction; 8-byte types store k alone and rely on CuPy's stable argsort.
// Reference: Terdiman, "Radix Sort Revisited" (float key flip); numpy sort NaN ordering.
#include "../common/dtypes.cuh"

typedef ${T} T;
typedef ${K} K;
#define KIND ${KIND}  // 0 unsigned / bool, 1 signed int, 2 float
#define BITS ${BITS}

__device__ __forceinline__ K raw_bits(const T* x, i64 i) {
  if (BITS == 8) return (K) * (const unsigned char*)(x + i);
  if (BITS == 16) return (K) * (const unsigned short*)(x + i);
  if (BITS == 32) return (K) * (const u32*)(x + i);
  return (K) * (const u64*)(x + i);
}

extern "C" __global__ void sort_keys_${N}(u64* __restrict__ keys, const T* __restrict__ x, i64 n, i64 C, i64 descending) {
  const K sign = (K)1 << (BITS - 1);
  const K all = (K)(~(u64)0 >> (64 - BITS));
  GRID_STRIDE(i, n) {
    K b = raw_bits(x, i);
    K k;
    if (KIND == 0) {
      k = b;
    } else if (KIND == 1) {
      k = b ^ sign;
    } else {
      const K mag = b & (sign - 1);
      const K exp_mask = BITS == 16 && ${BF16} ? (K)0x7f80 : (BITS == 16 ? (K)0x7c00 : (BITS == 32 ? (K)0x7f800000u : (K)0x7ff0000000000000ULL));
      if (mag == 0) b = 0;  // -0 == +0
      if ((mag & exp_mask) == exp_mask && (mag & ~exp_mask) != 0) k = all;  // NaN sorts last
      else k = (b & sign) ? (~b & all) : (b | sign);
    }
    k = descending ? (~k & all) : k;
    keys[i] = BITS <= 32 ? (((u64)k << 32) | (u64)(i % C)) : (u64)k;
  }
}
