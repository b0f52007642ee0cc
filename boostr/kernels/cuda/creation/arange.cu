// Arithmetic progression into out (dtype ${N}).
//
// Formula: out[i] = start + i * step, in i64 when ``int_path`` (integer start/step and
// integer out) and in f64 otherwise, then converted to ${N}.
// Layout: out contiguous 1-D [n].
// Reference: numpy ``arange`` / ``linspace``.
#include "../common/dtypes.cuh"

typedef ${T} T;

extern "C" __global__ void arange_fill_${N}(T* __restrict__ out, i64 n, i64 int_path, i64 istart, i64 istep,
                                            double fstart, double fstep) {
  GRID_STRIDE(i, n) {
    if (int_path) out[i] = put<T>(istart + i * istep);
    else out[i] = put<T>(fstart + (double)i * fstep);
  }
}
