// KV-cache quantization and dequantization, bit-identical to boostr/ops/generic/kv_cache_quant.py.
//
// Formula (f32, IEEE division, rint = half to even, no fused multiply-add so the rounding matches):
// fp8_e4m3 per row: s = amax / 448 (1 if 0), q = e4m3(x / s) (saturating, dtypes.cuh);
// int8 per row: s = amax / 127 (1 if 0), q = clamp(rint(x / s), -127, 127);
// int4 per group of g: z = min, s = (max - min) / 15 (1 if 0), q = clamp(rint((x - z) / s), 0, 15),
// byte i = q[2i] | q[2i + 1] << 4. Dequant: q * s (fp8, int8) and q * s + z (int4).
// Layout: rows x [R, D] in ${T} contiguous; fp8 / int8 data [R, D] (u8 / i8) and scale [R] f32; int4 data
// [R, D / 2] u8, scale and zero [R, D / g] f32. Quantize: one 128-thread CTA per row (fp8 / int8) or per
// row with one warp per group (int4); dequantize: one thread per element (int4: per byte).
// Reference: KIVI (Liu et al., 2024); OCP OFP8 r1.0 for e4m3.
#include "../common/block.cuh"

extern "C" __global__ void __launch_bounds__(128)
    kv_quant_row_${N}(unsigned char* __restrict__ data, float* __restrict__ scale, const ${T}* __restrict__ x,
                      i64 D, i64 fp8) {
  __shared__ float red[33];
  const ${T}* xr = x + (i64)blockIdx.x * D;
  float a = 0.f;
  for (i64 d = threadIdx.x; d < D; d += blockDim.x) a = fmaxf(a, fabsf((float)wide(xr[d])));
  a = block_reduce(a, MaxOp(), red);
  float s = a / (fp8 ? 448.f : 127.f);
  if (s == 0.f) s = 1.f;
  if (threadIdx.x == 0) scale[blockIdx.x] = s;
  unsigned char* out = data + (i64)blockIdx.x * D;
  for (i64 d = threadIdx.x; d < D; d += blockDim.x) {
    const float y = (float)wide(xr[d]) / s;
    out[d] = fp8 ? f32_to_e4m3(y) : (unsigned char)(signed char)fminf(fmaxf(rintf(y), -127.f), 127.f);
  }
}

extern "C" __global__ void __launch_bounds__(128)
    kv_quant_int4_${N}(unsigned char* __restrict__ data, float* __restrict__ scale, float* __restrict__ zero,
                       const ${T}* __restrict__ x, i64 D, i64 g) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const i64 ng = D / g, row = blockIdx.x;
  const ${T}* xr = x + row * D;
  for (i64 k = warp; k < ng; k += 4) {
    const ${T}* xg = xr + k * g;
    float mn = __int_as_float(0x7f800000), mx = -mn;
    for (i64 j = lane; j < g; j += 32) {
      const float val = (float)wide(xg[j]);
      mn = fminf(mn, val);
      mx = fmaxf(mx, val);
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      mn = fminf(mn, __shfl_xor_sync(0xffffffffu, mn, o));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    }
    float s = __fsub_rn(mx, mn) / 15.f;
    if (s == 0.f) s = 1.f;
    if (lane == 0) {
      scale[row * ng + k] = s;
      zero[row * ng + k] = mn;
    }
    for (i64 j = lane; j < g / 2; j += 32) {
      const float lo = fminf(fmaxf(rintf(__fsub_rn((float)wide(xg[2 * j]), mn) / s), 0.f), 15.f);
      const float hi = fminf(fmaxf(rintf(__fsub_rn((float)wide(xg[2 * j + 1]), mn) / s), 0.f), 15.f);
      data[row * (D / 2) + k * (g / 2) + j] = (unsigned char)((int)lo | ((int)hi << 4));
    }
  }
}

// fp8 (fmt 0) / int8 (fmt 1): out[r, d] = q * s[r]
extern "C" __global__ void __launch_bounds__(256)
    kv_dequant_row_${N}(${T}* __restrict__ out, const unsigned char* __restrict__ data,
                        const float* __restrict__ scale, i64 R, i64 D, i64 fmt) {
  GRID_STRIDE(i, R * D) {
    const unsigned char c = data[i];
    const float qv = fmt == 0 ? e4m3_to_f32(c) : (float)(signed char)c;
    out[i] = put<${T}>(__fmul_rn(qv, scale[i / D]));
  }
}

// int4: one thread per byte; out[r, 2i + e] = nibble_e * s + z of its group
extern "C" __global__ void __launch_bounds__(256)
    kv_dequant_int4_${N}(${T}* __restrict__ out, const unsigned char* __restrict__ data,
                         const float* __restrict__ scale, const float* __restrict__ zero, i64 R, i64 D, i64 g) {
  const i64 half = D / 2, ng = D / g;
  GRID_STRIDE(i, R * half) {
    const i64 r = i / half, j = i % half, k = (2 * j) / g;
    const unsigned char c = data[i];
    const float s = scale[r * ng + k], z = zero[r * ng + k];
    out[r * D + 2 * j] = put<${T}>(__fadd_rn(__fmul_rn((float)(c & 15), s), z));
    out[r * D + 2 * j + 1] = put<${T}>(__fadd_rn(__fmul_rn((float)(c >> 4), s), z));
  }
}
