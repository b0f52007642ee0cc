// Tensor-core building blocks of the f16 / bf16 attention kernels (flash_fwd_tc.cu, flash_bwd_tc.cu,
// flash_decode_tc.cu):
// cp.async 16-byte copies, ldmatrix (plain and transposed), mma.sync m16n8k16 with f32 accumulators,
// f32 pair packing, the rows x D tile loader and two warp-level products over shared tiles (mma_abt: A B^T
// with A rows by ldmatrix; mma_pb: A B with A from f32 accumulators, B by ldmatrix.trans).
//
// Formula: mma16816 computes C[16x8] += A[16x16] B[16x8] (A row-major, B column-major, f32 C).
// Fragments (g = lane / 4, t = lane % 4): A a[0] = (row g, k 2t..2t+1), a[1] = (g + 8, 2t..), a[2] =
// (g, 2t+8..), a[3] = (g + 8, 2t+8..); B b0 = (k 2t..2t+1, col g), b1 = (k 2t+8.., col g); C c0/c1 =
// (row g, cols 2t, 2t+1), c2/c3 = (row g + 8, cols 2t, 2t+1). ldsm_x4 loads four 8x8 b16 matrices whose
// row addresses come from lanes 0-7, 8-15, 16-23, 24-31; ldsm_x4_t transposes each.
// Layout: tiles in shared memory are [rows][LD] 16-bit elements with LD = D + 8 (row starts 16-byte
// aligned and 8 rows of an ldmatrix fall in distinct banks). The including file sets ${BF} (1: bf16).
// Reference: PTX ISA "Matrix Fragments for mma.m16n8k16", "ldmatrix", "cp.async".
#ifndef BOOSTR_MMA_TC_CUH
#define BOOSTR_MMA_TC_CUH
#include "attn_common.cuh"

#define IS_BF16 ${BF}

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool pred) {
  const u32 s = (u32)__cvta_generic_to_shared(smem);
  const int n = pred ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(n));
}
__device__ __forceinline__ void cp_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::); }

__device__ __forceinline__ void ldsm_x4(u32* r, const void* p) {
  const u32 a = (u32)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}
__device__ __forceinline__ void ldsm_x4_t(u32* r, const void* p) {
  const u32 a = (u32)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

// The same with a shared-window byte address (smem_u32), so callers can keep 32-bit tile offsets.
__device__ __forceinline__ u32 smem_u32(const void* p) { return (u32)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void ldsm_x4(u32* r, u32 a) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}
__device__ __forceinline__ void ldsm_x4_t(u32* r, u32 a) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

__device__ __forceinline__ void mma16816(float* c, const u32* a, u32 b0, u32 b1) {
#if IS_BF16
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

// Two f32 into one b32 of halves: lo in bits 0-15 (the lower column / k index), hi in bits 16-31.
__device__ __forceinline__ u32 pack2(float lo, float hi) {
  u32 r;
#if IS_BF16
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
#else
  asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
#endif
  return r;
}

// One 16-bit element as f32.
__device__ __forceinline__ float half_f32(unsigned short x) {
#if IS_BF16
  return bf16_to_f32(x);
#else
  return f16_to_f32(x);
#endif
}

// rows x D tile of 16-bit elements from row r0 (stride ss elements) into S[rows][D + 8] by NT threads
// (cp.async, 16 bytes each); rows >= nrows are zero-filled. Commit / wait are the caller's.
template <int D, int ROWS, int NT = 128>
__device__ __forceinline__ void load_tile(unsigned short* S, const unsigned short* g, i64 ss, i64 r0, i64 nrows) {
  constexpr int LD = D + 8, CH = D / 8;
#pragma unroll
  for (int c = threadIdx.x; c < ROWS * CH; c += NT) {
    const int r = c / CH, col = (c % CH) * 8;
    const bool ok = r0 + r < nrows;
    cp_async16(S + r * LD + col, ok ? g + (r0 + r) * ss + col : g, ok);
  }
}

// C[16 x 8 NT] += A[16 x D] B^T: A rows at shared byte address aw (this lane's ldmatrix row, column 0),
// B = the first 8 NT rows of the [rows][D + 8] tile at bs (NT even).
template <int D, int NT>
__device__ __forceinline__ void mma_abt(float (*c)[4], u32 aw, u32 bs, int lane) {
  constexpr int LD = D + 8;
  const u32 b = bs + (((lane & 7) + (lane >> 4) * 8) * LD + ((lane >> 3) & 1) * 8) * 2;
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    u32 a[4];
    ldsm_x4(a, aw + kk * 32);
#pragma unroll
    for (int n = 0; n < NT; n += 2) {
      u32 r[4];
      ldsm_x4(r, b + (n * 8 * LD + kk * 16) * 2);
      mma16816(c[n], a, r[0], r[1]);
      mma16816(c[n + 1], a, r[2], r[3]);
    }
  }
}

// C[16 x D] += A[16 x 16 KT] B: A from the C fragments x[2 KT][4] (rounded to the input dtype), B = the
// first 16 KT rows of the [rows][D + 8] tile at bs (ldmatrix.trans).
template <int D, int KT>
__device__ __forceinline__ void mma_pb(float (*c)[4], const float (*x)[4], u32 bs, int lane) {
  constexpr int LD = D + 8;
  const u32 b = bs + (((lane & 7) + ((lane >> 3) & 1) * 8) * LD + (lane >> 4) * 8) * 2;
#pragma unroll
  for (int kj = 0; kj < KT; ++kj) {
    u32 a[4];
    a[0] = pack2(x[2 * kj][0], x[2 * kj][1]);
    a[1] = pack2(x[2 * kj][2], x[2 * kj][3]);
    a[2] = pack2(x[2 * kj + 1][0], x[2 * kj + 1][1]);
    a[3] = pack2(x[2 * kj + 1][2], x[2 * kj + 1][3]);
#pragma unroll
    for (int n = 0; n < D / 8; n += 2) {
      u32 r[4];
      ldsm_x4_t(r, b + (kj * 16 * LD + n * 8) * 2);
      mma16816(c[n], a, r[0], r[1]);
      mma16816(c[n + 1], a, r[2], r[3]);
    }
  }
}
#endif  // BOOSTR_MMA_TC_CUH
