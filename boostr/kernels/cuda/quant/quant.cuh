// Shared helpers of the GGML block-format kernels: byte loads, f16 scales, the format's
// lookup tables, and the per-format 8-weight decoders of the family headers.
//
// Formula: every decoder ``dec8_<fmt>(const u8* blk, int j, float v[8])`` writes weights
// 8j .. 8j+7 of the block at ``blk`` (j < BE / 8) with gguf-py's f32 operation order, every
// product and sum through __fmul_rn / __fadd_rn / __fsub_rn (never contracted into an FMA),
// so f32 output is bit-exact with ``gguf.quants.dequantize``.
// Layout: blocks are addressed by byte; multi-byte fields are little endian and read byte by
// byte (GGML blocks are 1- or 2-byte aligned). Template parameters (boostr/ops/cuda/quant.py):
//   ${GRID}: which IQ codebook ``k_grid`` holds (one u64 per grid row, byte k = int8 value k);
//   ${KV}: which 16 float levels ``k_kv`` holds (kvalues_iq4nl, or kvalues_mxfp4 = doubled e2m1).
// The tables live in tables.cuh, generated from gguf-py's own tables (never typed by hand).
// Reference: llama.cpp ggml/src/ggml-common.h (block structs), ggml-cuda/convert.cu
// (dequantize_block_*), ggml-quants.c (dequantize_row_*); gguf-py gguf/quants.py.
#ifndef BOOSTR_QUANT_CUH
#define BOOSTR_QUANT_CUH
#include "../common/dtypes.cuh"

typedef unsigned char u8;

__device__ __forceinline__ u32 ld16(const u8* p) { return (u32)p[0] | ((u32)p[1] << 8); }
__device__ __forceinline__ u32 ld32(const u8* p) { return ld16(p) | (ld16(p + 2) << 16); }
__device__ __forceinline__ float ldh(const u8* p) { return f16_to_f32((unsigned short)ld16(p)); }
__device__ __forceinline__ float fmul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float fadd(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float fsub(float a, float b) { return __fsub_rn(a, b); }

// Nibble k (0..BE-1 of a 32-weight Q4_0-style block): weights 0..15 are the low nibbles of
// qs[0..15], weights 16..31 the high nibbles.
__device__ __forceinline__ u32 nib32(const u8* qs, int e) { return e < 16 ? (qs[e] & 15u) : (qs[e - 16] >> 4); }

// ksigns_iq2xs[k]: the 7 sign bits k plus an 8th making the parity even (checked against
// gguf-py's table by tests/conformance/test_quant_data.py).
__device__ __forceinline__ u32 ksigns(u32 k) { return k | ((__popc(k) & 1u) << 7); }

#define QGRID_${GRID} 1
#define QKV_${KV} 1
#include "tables.cuh"

__device__ __forceinline__ float grid_at(u32 row, int k) {
  return (float)(signed char)((k_grid[row] >> (8 * k)) & 0xffull);
}

#include "legacy.cuh"
#include "kquants.cuh"
#include "iq.cuh"
#include "ternary_fp4.cuh"
#endif  // BOOSTR_QUANT_CUH
