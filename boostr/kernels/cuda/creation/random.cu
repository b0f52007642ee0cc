// Philox random fill of out (dtype ${N}): uniform, normal (Box-Muller) or randint.
//
// Formula (r = philox4x32_10((i lo, i hi, off lo, off hi), (seed lo, seed hi))):
//   uniform: a + (b - a) * (r0 >> 8) * 2^-24;
//   normal:  a + b * sqrt(-2 log(((r0 >> 8) + 1) * 2^-24)) * cos(2 pi (r1 >> 8) * 2^-24);
//   randint: lo + ((u64)r0 * span) >> 32.
// Floats are computed in f64 and rounded to f32 (to f64 for f64 out), then to ${N}, as the
// CPU reference does. Layout: out contiguous [n], flat index i.
// Reference: boostr.runtime.hooks.KernelHooks._k_random; Box & Muller (1958).
#include "../common/philox.cuh"

typedef ${T} T;
#define OUT_IS_F64 ${F64}

extern "C" __global__ void random_fill_${N}(T* __restrict__ out, i64 n, i64 dist, u64 seed, u64 offset, double a,
                                            double b, i64 lo, u64 span) {
  const u32 k0 = (u32)seed, k1 = (u32)(seed >> 32);
  GRID_STRIDE(i, n) {
    U4 c;
    c.x = (u32)((u64)i);
    c.y = (u32)((u64)i >> 32);
    c.z = (u32)offset;
    c.w = (u32)(offset >> 32);
    const U4 r = philox4x32_10(c, k0, k1);
    if (dist == 2) {
      out[i] = put<T>(lo + (i64)(((u64)r.x * span) >> 32));
    } else {
      double v;
      if (dist == 0) {
        v = a + (b - a) * ((double)(r.x >> 8) * (1.0 / 16777216.0));
      } else {
        const double u1 = ((double)(r.x >> 8) + 1.0) * (1.0 / 16777216.0);
        const double u2 = (double)(r.y >> 8) * (1.0 / 16777216.0);
        v = a + b * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
      }
#if OUT_IS_F64
      out[i] = put<T>(v);
#else
      out[i] = put<T>((float)v);
#endif
    }
  }
}
