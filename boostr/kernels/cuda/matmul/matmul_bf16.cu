// Batched bf16 matmul on tensor cores: out[b] = a[b] @ b[b], f32 accumulation, bf16 out.
//
// Formula: out[b, m, n] = bf16_rne(sum_k a[b, m, k] * b[b, k, n]) with products and sums in f32
// (mma.sync.m16n8k16 bf16 x bf16 -> f32).
// Layout: a [B, M, K] and b [B, K, N] with any element strides (batch stride 0 = broadcast);
// out [B, M, N] contiguous. Block tile 128 x 128 x 32, 8 warps as 2 (M) x 4 (N), each warp
// 64 x 32 = 4 x 4 mma tiles, fragments read with ldmatrix. A is held in shared memory as
// [128][32 + 8 pad] (K contiguous); B as [32][128 + 8] (N contiguous, ldmatrix.trans) by
// ``matmul_tc_kn_bf16`` when B's rows are N-contiguous, else as [128][32 + 8] (K contiguous) by
// ``matmul_tc_nk_bf16``. Tiles are double buffered through registers; global loads use 128-bit
// vectors along K (k stride 1) or along the rows (row stride 1) when dims and pointers allow,
// else bounds-checked scalar loads.
// Reference: PTX ISA "Matrix Fragments for mma.m16n8k16" (bf16); CUTLASS SM80 tensor-op GEMM.
#include "../common/dtypes.cuh"

#define BM 128
#define BN 128
#define BK 32
#define LDS (BK + 8)
#define LDSN (BN + 8)

union Pack8 {
  uint4 v;
  unsigned short e[8];
};

// Stage a 128 x 32 tile of the K-major view elem(r, c) = p[(r0 + r) * sr + (k0 + c) * sc] into 2 x 128 bits.
// mode 0: scalar; 1: vector along K (sc == 1); 2: vector along rows (sr == 1).
__device__ __forceinline__ void stage_tile(uint4* st, const unsigned short* p, i64 sr, i64 sc, i64 R, i64 K, i64 r0,
                                           i64 k0, int mode) {
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const int idx = threadIdx.x + s * 256;
    Pack8 u;
    u.v = make_uint4(0u, 0u, 0u, 0u);
    if (mode == 2) {
      const i64 r = r0 + (idx % 16) * 8, c = k0 + idx / 16;
      if (r < R && c < K) u.v = *reinterpret_cast<const uint4*>(p + r + c * sc);
    } else {
      const i64 r = r0 + idx / 4, c = k0 + (idx % 4) * 8;
      if (mode == 1) {
        if (r < R && c < K) u.v = *reinterpret_cast<const uint4*>(p + r * sr + c);
      } else if (r < R) {
#pragma unroll
        for (int j = 0; j < 8; ++j) u.e[j] = (c + j < K) ? p[r * sr + (c + j) * sc] : (unsigned short)0;
      }
    }
    st[s] = u.v;
  }
}

__device__ __forceinline__ void store_tile(unsigned short (*S)[LDS], const uint4* st, int mode) {
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const int idx = threadIdx.x + s * 256;
    if (mode == 2) {
      Pack8 u;
      u.v = st[s];
      const int r = (idx % 16) * 8, c = idx / 16;
#pragma unroll
      for (int j = 0; j < 8; ++j) S[r + j][c] = u.e[j];
    } else {
      *reinterpret_cast<uint4*>(&S[idx / 4][(idx % 4) * 8]) = st[s];
    }
  }
}

// Store a mode-2 staged tile (8 consecutive N at one k per 128 bits) into [BK][LDSN] unchanged.
__device__ __forceinline__ void store_tile_kn(unsigned short (*S)[LDSN], const uint4* st) {
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const int idx = threadIdx.x + s * 256;
    *reinterpret_cast<uint4*>(&S[idx / 16][(idx % 16) * 8]) = st[s];
  }
}

__device__ __forceinline__ void ldsm_x4(u32* r, const void* p, bool trans) {
  const u32 a = (u32)__cvta_generic_to_shared(p);
  if (trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

__device__ __forceinline__ void mma_bf16(float* c, const u32* a, const u32* b) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <bool KN>
__device__ __forceinline__ void matmul_body(unsigned short* __restrict__ out, const unsigned short* __restrict__ a,
                                            const unsigned short* __restrict__ b, i64 M, i64 N, i64 K, i64 sab,
                                            i64 sam, i64 sak, i64 sbb, i64 sbk, i64 sbn, int amode, int bmode) {
  __shared__ __align__(16) unsigned short As[2][BM][LDS];
  __shared__ __align__(16) unsigned short Bsh[2][BN * LDS > BK * LDSN ? BN * LDS : BK * LDSN];
  const i64 m0 = (i64)blockIdx.y * BM, n0 = (i64)blockIdx.x * BN;
  a += (i64)blockIdx.z * sab;
  b += (i64)blockIdx.z * sbb;
  out += (i64)blockIdx.z * M * N;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int wm = (warp >> 2) * 64, wn = (warp & 3) * 32;
  float acc[4][4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int q = 0; q < 4; ++q) acc[i][j][q] = 0.f;

  uint4 sa[2], sb[2];
  const i64 nk = (K + BK - 1) / BK;
  stage_tile(sa, a, sam, sak, M, K, m0, 0, amode);
  stage_tile(sb, b, sbn, sbk, N, K, n0, 0, bmode);
  store_tile(As[0], sa, amode);
  if (KN) store_tile_kn(reinterpret_cast<unsigned short(*)[LDSN]>(Bsh[0]), sb);
  else store_tile(reinterpret_cast<unsigned short(*)[LDS]>(Bsh[0]), sb, bmode);
  __syncthreads();
  for (i64 kt = 0; kt < nk; ++kt) {
    const int cur = (int)(kt & 1);
    if (kt + 1 < nk) {
      stage_tile(sa, a, sam, sak, M, K, m0, (kt + 1) * BK, amode);
      stage_tile(sb, b, sbn, sbk, N, K, n0, (kt + 1) * BK, bmode);
    }
    unsigned short(*Bnk)[LDS] = reinterpret_cast<unsigned short(*)[LDS]>(Bsh[cur]);
    unsigned short(*Bkn)[LDSN] = reinterpret_cast<unsigned short(*)[LDSN]>(Bsh[cur]);
#pragma unroll
    for (int kk = 0; kk < BK; kk += 16) {
      u32 af[4][4], bfr[4][2];
#pragma unroll
      for (int i = 0; i < 4; ++i) ldsm_x4(af[i], &As[cur][wm + i * 16 + (lane & 15)][kk + (lane >> 4) * 8], false);
#pragma unroll
      for (int j = 0; j < 4; j += 2) {
        u32 r[4];
        if (KN)
          ldsm_x4(r, &Bkn[kk + (lane & 7) + ((lane >> 3) & 1) * 8][wn + j * 8 + (lane >> 4) * 8], true);
        else
          ldsm_x4(r, &Bnk[wn + j * 8 + (lane & 7) + (lane >> 4) * 8][kk + ((lane >> 3) & 1) * 8], false);
        bfr[j][0] = r[0];
        bfr[j][1] = r[1];
        bfr[j + 1][0] = r[2];
        bfr[j + 1][1] = r[3];
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) mma_bf16(acc[i][j], af[i], bfr[j]);
    }
    if (kt + 1 < nk) {
      store_tile(As[cur ^ 1], sa, amode);
      if (KN) store_tile_kn(reinterpret_cast<unsigned short(*)[LDSN]>(Bsh[cur ^ 1]), sb);
      else store_tile(reinterpret_cast<unsigned short(*)[LDS]>(Bsh[cur ^ 1]), sb, bmode);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const i64 m = m0 + wm + i * 16 + g + (q >> 1) * 8, n = n0 + wn + j * 8 + t * 2 + (q & 1);
        if (m < M && n < N) out[m * N + n] = f32_to_bf16(acc[i][j][q]);
      }
}

// B rows N-contiguous (bmode 2): B held as [k][n].
extern "C" __global__ void __launch_bounds__(256)
    matmul_tc_kn_bf16(unsigned short* __restrict__ out, const unsigned short* __restrict__ a,
                      const unsigned short* __restrict__ b, i64 M, i64 N, i64 K, i64 sab, i64 sam, i64 sak, i64 sbb,
                      i64 sbk, i64 sbn, i64 amode, i64 bmode) {
  matmul_body<true>(out, a, b, M, N, K, sab, sam, sak, sbb, sbk, sbn, (int)amode, 2);
}

// B K-contiguous (bmode 1) or scalar (bmode 0): B held as [n][k].
extern "C" __global__ void __launch_bounds__(256)
    matmul_tc_nk_bf16(unsigned short* __restrict__ out, const unsigned short* __restrict__ a,
                      const unsigned short* __restrict__ b, i64 M, i64 N, i64 K, i64 sab, i64 sam, i64 sak, i64 sbb,
                      i64 sbk, i64 sbn, i64 amode, i64 bmode) {
  matmul_body<false>(out, a, b, M, N, K, sab, sam, sak, sbb, sbk, sbn, (int)amode, (int)bmode);
}
