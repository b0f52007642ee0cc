// Philox4x32-10 counter-based generator (the same bits as boostr/kernels/cpu/philox.py).
//
// Formula: 10 rounds of (c0, c1, c2, c3) <- (hi(M1*c2) ^ c1 ^ k0, lo(M1*c2), hi(M0*c0) ^ c3 ^ k1, lo(M0*c0)),
// with the key bumped by (W0, W1) after each round; M0 = 0xD2511F53, M1 = 0xCD9E8D57,
// W0 = 0x9E3779B9, W1 = 0xBB67AE85.
// Layout: counter = (i lo, i hi, offset lo, offset hi), key = (seed lo, seed hi).
// Reference: Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3" (SC'11).
#ifndef BOOSTR_PHILOX_CUH
#define BOOSTR_PHILOX_CUH
#include "dtypes.cuh"

struct U4 { u32 x, y, z, w; };

__device__ __forceinline__ U4 philox4x32_10(U4 c, u32 k0, u32 k1) {
#pragma unroll
  for (int r = 0; r < 10; ++r) {
    const u32 hi0 = __umulhi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
    const u32 hi1 = __umulhi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
    U4 n;
    n.x = hi1 ^ c.y ^ k0;
    n.y = lo1;
    n.z = hi0 ^ c.w ^ k1;
    n.w = lo0;
    c = n;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c;
}
#endif  // BOOSTR_PHILOX_CUH
