// FlashAttention-2 forward on tensor cores (f16 / bf16, head dims 64 and 128), f32 accumulation.
//
// Formula: per query row i, out_i = sum_j softmax_j(q_i . k_j * scale + mask_ij) v_j and
// lse_i = log sum_j exp(q_i . k_j * scale) over visible keys (mask: attn_common.cuh). Online softmax
// over key tiles in log2 units: m' = max(m, rowmax s), p = exp2(s - m'), l = l * exp2(m - m') + rowsum p,
// acc = acc * exp2(m - m') + p v; out = acc / l (0 when l == 0), lse = ln2 (m + log2 l) (-inf when l == 0).
// Layout: q [B, H, Sq, D], k/v [B, Hkv, Sk, D] (element strides per b/h/s, d contiguous, rows 16-byte
// aligned), out [B, H, Sq, D] contiguous, lse [B, H, Sq] f32. Grid (query blocks, H, B); 4 warps, each
// 16 query rows (BM = 64), key tiles BN = 64. Q tile and double-buffered K/V tiles in shared memory
// ([rows][D + 8] halves: ldmatrix rows fall in distinct banks), filled with cp.async (zero-fill past the
// end). S = Q K^T: mma.sync m16n8k16 with Q fragments held in registers (ldmatrix) and K fragments by
// ldmatrix; P is re-packed from the S accumulators as the A operand of P V (V fragments by
// ldmatrix.trans). Query head h reads KV head h / (H / Hkv) (GQA / MQA).
// One body serves three entry sets (FLASH_ENTRIES, set by the including file): 0 dense (this file),
// 1 dense + ALiBi (alibi_fwd_tc.cu: scores get -slope_h * |p_i - j|, in log2 units), 2 packed varlen
// (varlen_fwd_tc.cu: q [Tq, H, D], k/v [Tk, Hkv, D], sequence s = rows cu[s]:cu[s+1], grid
// (ceil(max_q / BM) * num_seqs, H), out [Tq, H, D], lse [H, Tq]). The body sees one (batch or sequence,
// head): base pointers, row strides and lengths resolved by the entry.
// Reference: Dao, "FlashAttention-2" (2023), Alg. 1; PTX ISA "Matrix Fragments for mma.m16n8k16";
// Press et al., "ALiBi" (2022). Shared mma / ldmatrix / cp.async helpers: mma_tc.cuh.
#include "mma_tc.cuh"

#define NW 4
#define BM (16 * NW)
#define BN 64

// One (batch or sequence, head) query block mblk: out/lse point at its row 0 (out rows os elements apart,
// lse rows adjacent), qp/kp/vp at row 0 of its query / KV head; slope2 = slope_h * log2 e (ALIBI only).
template <int D, bool ALIBI>
__device__ __forceinline__ void flash_fwd_tc(unsigned short* __restrict__ out, float* __restrict__ lse, i64 os,
                                             const unsigned short* __restrict__ qp, const unsigned short* __restrict__ kp,
                                             const unsigned short* __restrict__ vp, i64 Sq, i64 Sk, i64 qs, i64 ks,
                                             i64 vs, i64 mblk, double scale, i64 L, i64 window, i64 limited,
                                             float slope2) {
  constexpr int LD = D + 8, KD = D / 16, NS = BN / 8, ND = D / 8;
  extern __shared__ __align__(16) unsigned short smem[];
  unsigned short* Qs = smem;
  unsigned short* Ks = Qs + BM * LD;  // [2][BN][LD]
  unsigned short* Vs = Ks + 2 * BN * LD;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const i64 i0 = mblk * BM, i1 = (i0 + BM < Sq) ? i0 + BM : Sq;
  const AttnMask mask = make_mask(Sq, L, window, limited);
  i64 jlo, jhi;
  mask.key_range(i0, i1, &jlo, &jhi);
  const i64 nt = (jhi - jlo + BN - 1) / BN;

  load_tile<D, BM>(Qs, qp, qs, i0, Sq);
  if (nt > 0) {
    load_tile<D, BN>(Ks, kp, ks, jlo, Sk);
    load_tile<D, BN>(Vs, vp, vs, jlo, Sk);
  }
  cp_commit();
  cp_wait_all();
  __syncthreads();

  u32 qf[KD][4];
#pragma unroll
  for (int kk = 0; kk < KD; ++kk) ldsm_x4(qf[kk], Qs + (warp * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8);

  float o[ND][4];
#pragma unroll
  for (int n = 0; n < ND; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
  float m0 = NEG_INF_F, m1 = NEG_INF_F, l0 = 0.f, l1 = 0.f;
  const float sl2 = (float)scale * LOG2E_F;
  const i64 row0 = i0 + warp * 16 + g, row1 = row0 + 8;
  const i64 off = L - Sq;

  for (i64 it = 0; it < nt; ++it) {
    const int cur = (int)(it & 1);
    const i64 j0 = jlo + it * BN;
    if (it + 1 < nt) {
      load_tile<D, BN>(Ks + (cur ^ 1) * BN * LD, kp, ks, j0 + BN, Sk);
      load_tile<D, BN>(Vs + (cur ^ 1) * BN * LD, vp, vs, j0 + BN, Sk);
      cp_commit();
    }
    const unsigned short* Kc = Ks + cur * BN * LD;
    const unsigned short* Vc = Vs + cur * BN * LD;
    float s[NS][4];
#pragma unroll
    for (int n = 0; n < NS; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < KD; ++kk) {
#pragma unroll
      for (int n = 0; n < NS; n += 2) {
        u32 r[4];
        ldsm_x4(r, Kc + (n * 8 + (lane & 7) + (lane >> 4) * 8) * LD + kk * 16 + ((lane >> 3) & 1) * 8);
        mma16816(s[n], qf[kk], r[0], r[1]);
        mma16816(s[n + 1], qf[kk], r[2], r[3]);
      }
    }
    // scale into log2 units; mask where the tile is not fully visible to every row of this block
    const bool need = (j0 + BN > jhi) || (limited && j0 + BN - 1 > i0 + off) || (window > 0 && j0 <= i1 - 1 + off - window);
    float mx0 = NEG_INF_F, mx1 = NEG_INF_F;
#pragma unroll
    for (int n = 0; n < NS; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float x = s[n][e] * sl2;
        if (ALIBI) x -= slope2 * fabsf((float)((e < 2 ? row0 : row1) + off - (j0 + n * 8 + t * 2 + (e & 1))));
        if (need) {
          const i64 j = j0 + n * 8 + t * 2 + (e & 1);
          if (j >= jhi || !mask.visible(e < 2 ? row0 : row1, j)) x = NEG_INF_F;
        }
        s[n][e] = x;
      }
      mx0 = fmaxf(mx0, fmaxf(s[n][0], s[n][1]));
      mx1 = fmaxf(mx1, fmaxf(s[n][2], s[n][3]));
    }
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
    const float n0 = fmaxf(m0, mx0), n1 = fmaxf(m1, mx1);
    const float s0 = safe_max(n0), s1 = safe_max(n1);
    const float a0 = exp2f(m0 - s0), a1 = exp2f(m1 - s1);
    m0 = n0;
    m1 = n1;
    float ps0 = 0.f, ps1 = 0.f;
#pragma unroll
    for (int n = 0; n < NS; ++n) {
      s[n][0] = exp2f(s[n][0] - s0);
      s[n][1] = exp2f(s[n][1] - s0);
      s[n][2] = exp2f(s[n][2] - s1);
      s[n][3] = exp2f(s[n][3] - s1);
      ps0 += s[n][0] + s[n][1];
      ps1 += s[n][2] + s[n][3];
    }
    l0 = l0 * a0 + ps0;
    l1 = l1 * a1 + ps1;
#pragma unroll
    for (int n = 0; n < ND; ++n) {
      o[n][0] *= a0;
      o[n][1] *= a0;
      o[n][2] *= a1;
      o[n][3] *= a1;
    }
    // O += P V: P (16 x BN) from the S accumulators, 16 keys per k-step
#pragma unroll
    for (int kj = 0; kj < BN / 16; ++kj) {
      u32 a[4];
      a[0] = pack2(s[2 * kj][0], s[2 * kj][1]);
      a[1] = pack2(s[2 * kj][2], s[2 * kj][3]);
      a[2] = pack2(s[2 * kj + 1][0], s[2 * kj + 1][1]);
      a[3] = pack2(s[2 * kj + 1][2], s[2 * kj + 1][3]);
#pragma unroll
      for (int n = 0; n < ND; n += 2) {
        u32 r[4];
        ldsm_x4_t(r, Vc + (kj * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + n * 8 + (lane >> 4) * 8);
        mma16816(o[n], a, r[0], r[1]);
        mma16816(o[n + 1], a, r[2], r[3]);
      }
    }
    cp_wait_all();
    __syncthreads();
  }

  l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
  l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
  const float r0 = l0 > 0.f ? 1.f / l0 : 0.f, r1 = l1 > 0.f ? 1.f / l1 : 0.f;
#pragma unroll
  for (int n = 0; n < ND; ++n) {
    const int d = n * 8 + t * 2;
    if (row0 < Sq) *reinterpret_cast<u32*>(out + row0 * os + d) = pack2(o[n][0] * r0, o[n][1] * r0);
    if (row1 < Sq) *reinterpret_cast<u32*>(out + row1 * os + d) = pack2(o[n][2] * r1, o[n][3] * r1);
  }
  if (t == 0) {
    if (row0 < Sq) lse[row0] = l0 > 0.f ? (m0 + log2f(l0)) * LN2_F : NEG_INF_F;
    if (row1 < Sq) lse[row1] = l1 > 0.f ? (m1 + log2f(l1)) * LN2_F : NEG_INF_F;
  }
}

// Dense [B, H, Sq, D] problem of grid (query blocks, H, B), heavy (late, causal) blocks first.
template <int D, bool ALIBI>
__device__ __forceinline__ void flash_fwd_tc_dense(unsigned short* out, float* lse, const unsigned short* q,
                                                   const unsigned short* k, const unsigned short* v, i64 H, i64 Hkv,
                                                   i64 Sq, i64 Sk, i64 qb, i64 qh, i64 qs, i64 kb, i64 kh, i64 ks,
                                                   i64 vb, i64 vh, i64 vs, double scale, i64 L, i64 window,
                                                   i64 limited, const float* slopes) {
  const i64 h = blockIdx.y, b = blockIdx.z, hk = h / (H / Hkv);
  const i64 rb = (b * H + h) * Sq;
  const float slope2 = ALIBI ? slopes[h] * LOG2E_F : 0.f;
  flash_fwd_tc<D, ALIBI>(out + rb * D, lse + rb, D, q + b * qb + h * qh, k + b * kb + hk * kh, v + b * vb + hk * vh,
                         Sq, Sk, qs, ks, vs, (i64)gridDim.x - 1 - (i64)blockIdx.x, scale, L, window, limited, slope2);
}

// Packed varlen problem of grid (nqb * num_seqs, H): sequence s = blockIdx.x / nqb; key length = L.
template <int D>
__device__ __forceinline__ void flash_fwd_tc_varlen(unsigned short* out, float* lse, const unsigned short* q,
                                                    const unsigned short* k, const unsigned short* v,
                                                    const i64* cu_q, const i64* cu_k, i64 H, i64 Hkv, i64 Tq,
                                                    i64 nqb, i64 qt, i64 qh, i64 kt, i64 kh, i64 vt, i64 vh,
                                                    double scale, i64 window, i64 limited) {
  const i64 s = (i64)blockIdx.x / nqb, mblk = nqb - 1 - (i64)blockIdx.x % nqb;
  const i64 q0 = cu_q[s], sq = cu_q[s + 1] - q0, k0 = cu_k[s], sk = cu_k[s + 1] - k0;
  if (mblk * BM >= sq) return;  // whole CTA: past this sequence's queries
  const i64 h = blockIdx.y, hk = h / (H / Hkv);
  flash_fwd_tc<D, false>(out + (q0 * H + h) * D, lse + h * Tq + q0, H * D, q + q0 * qt + h * qh,
                         k + k0 * kt + hk * kh, v + k0 * vt + hk * vh, sq, sk, qt, kt, vt, mblk, scale, sk, window,
                         limited, 0.f);
}

#ifndef FLASH_ENTRIES
#define FLASH_ENTRIES 0
#endif
#define TC_ARGS                                                                                                    \
  unsigned short *out, float *lse, const unsigned short *q, const unsigned short *k, const unsigned short *v, i64 H, \
      i64 Hkv, i64 Sq, i64 Sk, i64 qb, i64 qh, i64 qs, i64 kb, i64 kh, i64 ks, i64 vb, i64 vh, i64 vs, double scale,  \
      i64 L, i64 window, i64 limited
#define TC_PASS out, lse, q, k, v, H, Hkv, Sq, Sk, qb, qh, qs, kb, kh, ks, vb, vh, vs, scale, L, window, limited
#define TC_ENTRY(DIM)                                                                                              \
  extern "C" __global__ void __launch_bounds__(NW * 32) flash_fwd_tc##DIM##_${N}(TC_ARGS) {                       \
    flash_fwd_tc_dense<DIM, false>(TC_PASS, nullptr);                                                              \
  }
#define TC_ALIBI_ENTRY(DIM)                                                                                        \
  extern "C" __global__ void __launch_bounds__(NW * 32) alibi_fwd_tc##DIM##_${N}(TC_ARGS, const float* slopes) {  \
    flash_fwd_tc_dense<DIM, true>(TC_PASS, slopes);                                                                \
  }
#define TC_VARLEN_ENTRY(DIM)                                                                                       \
  extern "C" __global__ void __launch_bounds__(NW * 32) varlen_fwd_tc##DIM##_${N}(                                 \
      unsigned short* out, float* lse, const unsigned short* q, const unsigned short* k, const unsigned short* v, \
      const i64* cu_q, const i64* cu_k, i64 H, i64 Hkv, i64 Tq, i64 nqb, i64 qt, i64 qh, i64 kt, i64 kh, i64 vt,   \
      i64 vh, double scale, i64 window, i64 limited) {                                                             \
    flash_fwd_tc_varlen<DIM>(out, lse, q, k, v, cu_q, cu_k, H, Hkv, Tq, nqb, qt, qh, kt, kh, vt, vh, scale,        \
                             window, limited);                                                                     \
  }
#if FLASH_ENTRIES == 0
TC_ENTRY(64)
TC_ENTRY(128)
#elif FLASH_ENTRIES == 1
TC_ALIBI_ENTRY(64)
TC_ALIBI_ENTRY(128)
#elif FLASH_ENTRIES == 2
TC_VARLEN_ENTRY(64)
TC_VARLEN_ENTRY(128)
#endif
