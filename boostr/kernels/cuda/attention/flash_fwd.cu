// FlashAttention-2 forward, SIMT (any float dtype, head dims 32/64/80/96/128/256), f32 accumulation.
//
// Formula: out_i = sum_j softmax_j(q_i . k_j * scale + mask_ij) v_j, lse_i = log sum_j exp(...), by the
// online softmax of attn_common.cuh in log2 units (out 0 and lse -inf for a row with no visible key).
// Layout: q [B, H, Sq, D], k/v [B, Hkv, Sk, D] with element strides per b/h/s (d contiguous); out
// [B, H, Sq, D] contiguous in q's dtype, lse [B, H, Sq] f32. Grid (ceil(Sq / 16), H, B), 4 warps; each
// warp owns 4 query rows; key tiles of 32 keys are staged in shared memory as f32 (K rows padded to
// D + 1 for conflict-free column reads). Lane j scores key j of the tile; for P V lane owns the dims
// d = lane + 32 e and receives each p_j by shuffle.
// One body serves three entry sets (FLASH_ENTRIES, set by the including file): 0 dense (this file),
// 1 dense + ALiBi (alibi_fwd.cu: scores get -slope_h * |p_i - j|), 2 packed varlen (varlen_fwd.cu:
// q [Tq, H, D], k/v [Tk, Hkv, D], sequence s = rows cu[s]:cu[s+1], grid (ceil(max_q / 16) * num_seqs, H),
// out [Tq, H, D], lse [H, Tq]). The body sees one (batch or sequence, head) with resolved pointers.
// Reference: Dao, "FlashAttention-2" (2023), Alg. 1; Press et al., "ALiBi" (2022).
#include "attn_common.cuh"

#define NWS 4
#define RW 4
#define BMS (NWS * RW)
#define BNS 32

// One (batch or sequence, head) query block mblk: out/lse point at its row 0 (out rows os elements apart,
// lse rows adjacent), qp/kp/vp at row 0 of its query / KV head; slope2 = slope_h * log2 e (ALIBI only).
template <int D, bool ALIBI>
__device__ __forceinline__ void flash_fwd_simt(${T}* __restrict__ out, float* __restrict__ lse, i64 os,
                                               const ${T}* __restrict__ qp, const ${T}* __restrict__ kp,
                                               const ${T}* __restrict__ vp, i64 Sq, i64 qs, i64 ks, i64 vs, i64 mblk,
                                               double scale, i64 L, i64 window, i64 limited, float slope2) {
  constexpr int E = (D + 31) / 32, KL = D + 1;
  extern __shared__ __align__(16) float fsm[];
  float* Qs = fsm;              // [BMS][D]
  float* Ks = Qs + BMS * D;     // [BNS][D + 1]
  float* Vs = Ks + BNS * KL;    // [BNS][D]
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const i64 i0 = mblk * BMS, i1 = i0 + BMS < Sq ? i0 + BMS : Sq;
  const AttnMask mask = make_mask(Sq, L, window, limited);
  i64 jlo, jhi;
  mask.key_range(i0, i1, &jlo, &jhi);
  const float sl2 = (float)scale * LOG2E_F;
  for (int idx = threadIdx.x; idx < BMS * D; idx += NWS * 32) {
    const i64 i = i0 + idx / D;
    Qs[idx] = i < Sq ? (float)wide(qp[i * qs + idx % D]) * sl2 : 0.f;
  }
  float m[RW], l[RW], acc[RW][E];
#pragma unroll
  for (int r = 0; r < RW; ++r) {
    m[r] = NEG_INF_F;
    l[r] = 0.f;
#pragma unroll
    for (int e = 0; e < E; ++e) acc[r][e] = 0.f;
  }
  for (i64 j0 = jlo; j0 < jhi; j0 += BNS) {
    __syncthreads();
    for (int idx = threadIdx.x; idx < BNS * D; idx += NWS * 32) {
      const int jj = idx / D, d = idx % D;
      const i64 j = j0 + jj;
      const bool ok = j < jhi;
      Ks[jj * KL + d] = ok ? (float)wide(kp[j * ks + d]) : 0.f;
      Vs[idx] = ok ? (float)wide(vp[j * vs + d]) : 0.f;
    }
    __syncthreads();
    const i64 j = j0 + lane;
#pragma unroll
    for (int r = 0; r < RW; ++r) {
      const int wr = warp * RW + r;
      const i64 i = i0 + wr;
      const float* qr = Qs + wr * D;
      const float* kr = Ks + lane * KL;
      float s = 0.f;
#pragma unroll 8
      for (int d = 0; d < D; ++d) s = fmaf(qr[d], kr[d], s);
      const bool vis = i < Sq && j < jhi && mask.visible(i, j);
      if (ALIBI) s -= slope2 * fabsf((float)(i + L - Sq - j));
      const float x = vis ? s : NEG_INF_F;
      const float mn = fmaxf(m[r], warp_max(x));
      const float ms = safe_max(mn);
      const float alpha = exp2f(m[r] - ms);
      const float p = exp2f(x - ms);
      l[r] = l[r] * alpha + warp_sum(p);
      m[r] = mn;
#pragma unroll
      for (int e = 0; e < E; ++e) acc[r][e] *= alpha;
      for (int jj = 0; jj < BNS; ++jj) {
        const float pj = __shfl_sync(0xffffffffu, p, jj);
#pragma unroll
        for (int e = 0; e < E; ++e) {
          const int d = e * 32 + lane;
          if (d < D) acc[r][e] = fmaf(pj, Vs[jj * D + d], acc[r][e]);
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < RW; ++r) {
    const i64 i = i0 + warp * RW + r;
    if (i >= Sq) continue;
    const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int d = e * 32 + lane;
      if (d < D) out[i * os + d] = put<${T}>(acc[r][e] * inv);
    }
    if (lane == 0) lse[i] = l[r] > 0.f ? (m[r] + log2f(l[r])) * LN2_F : NEG_INF_F;
  }
}

// Dense [B, H, Sq, D] problem of grid (query blocks, H, B).
template <int D, bool ALIBI>
__device__ __forceinline__ void flash_fwd_simt_dense(${T}* out, float* lse, const ${T}* q, const ${T}* k, const ${T}* v,
                                                     i64 H, i64 Hkv, i64 Sq, i64 qb, i64 qh, i64 qs, i64 kb, i64 kh,
                                                     i64 ks, i64 vb, i64 vh, i64 vs, double scale, i64 L, i64 window,
                                                     i64 limited, const float* slopes) {
  const i64 h = blockIdx.y, b = blockIdx.z, hk = h / (H / Hkv);
  const i64 rb = (b * H + h) * Sq;
  const float slope2 = ALIBI ? slopes[h] * LOG2E_F : 0.f;
  flash_fwd_simt<D, ALIBI>(out + rb * D, lse + rb, D, q + b * qb + h * qh, k + b * kb + hk * kh, v + b * vb + hk * vh,
                           Sq, qs, ks, vs, (i64)blockIdx.x, scale, L, window, limited, slope2);
}

// Packed varlen problem of grid (nqb * num_seqs, H): sequence s = blockIdx.x / nqb; key length = L.
template <int D>
__device__ __forceinline__ void flash_fwd_simt_varlen(${T}* out, float* lse, const ${T}* q, const ${T}* k,
                                                      const ${T}* v, const i64* cu_q, const i64* cu_k, i64 H, i64 Hkv,
                                                      i64 Tq, i64 nqb, i64 qt, i64 qh, i64 kt, i64 kh, i64 vt, i64 vh,
                                                      double scale, i64 window, i64 limited) {
  const i64 s = (i64)blockIdx.x / nqb, mblk = (i64)blockIdx.x % nqb;
  const i64 q0 = cu_q[s], sq = cu_q[s + 1] - q0, k0 = cu_k[s], sk = cu_k[s + 1] - k0;
  if (mblk * BMS >= sq) return;  // whole CTA: past this sequence's queries
  const i64 h = blockIdx.y, hk = h / (H / Hkv);
  flash_fwd_simt<D, false>(out + (q0 * H + h) * D, lse + h * Tq + q0, H * D, q + q0 * qt + h * qh,
                           k + k0 * kt + hk * kh, v + k0 * vt + hk * vh, sq, qt, kt, vt, mblk, scale, sk, window,
                           limited, 0.f);
}

#ifndef FLASH_ENTRIES
#define FLASH_ENTRIES 0
#endif
#define SIMT_ARGS                                                                                                  \
  ${T} *out, float *lse, const ${T} *q, const ${T} *k, const ${T} *v, i64 H, i64 Hkv, i64 Sq, i64 qb, i64 qh,       \
      i64 qs, i64 kb, i64 kh, i64 ks, i64 vb, i64 vh, i64 vs, double scale, i64 L, i64 window, i64 limited
#define SIMT_PASS out, lse, q, k, v, H, Hkv, Sq, qb, qh, qs, kb, kh, ks, vb, vh, vs, scale, L, window, limited
#define SIMT_ENTRY(DIM)                                                                                            \
  extern "C" __global__ void __launch_bounds__(NWS * 32) flash_fwd_simt##DIM##_${N}(SIMT_ARGS) {                   \
    flash_fwd_simt_dense<DIM, false>(SIMT_PASS, nullptr);                                                          \
  }
#define SIMT_ALIBI_ENTRY(DIM)                                                                                      \
  extern "C" __global__ void __launch_bounds__(NWS * 32) alibi_fwd_simt##DIM##_${N}(SIMT_ARGS, const float* slopes) { \
    flash_fwd_simt_dense<DIM, true>(SIMT_PASS, slopes);                                                            \
  }
#define SIMT_VARLEN_ENTRY(DIM)                                                                                     \
  extern "C" __global__ void __launch_bounds__(NWS * 32) varlen_fwd_simt##DIM##_${N}(                              \
      ${T}* out, float* lse, const ${T}* q, const ${T}* k, const ${T}* v, const i64* cu_q, const i64* cu_k, i64 H,  \
      i64 Hkv, i64 Tq, i64 nqb, i64 qt, i64 qh, i64 kt, i64 kh, i64 vt, i64 vh, double scale, i64 window,          \
      i64 limited) {                                                                                               \
    flash_fwd_simt_varlen<DIM>(out, lse, q, k, v, cu_q, cu_k, H, Hkv, Tq, nqb, qt, qh, kt, kh, vt, vh, scale,      \
                               window, limited);                                                                   \
  }
#define SIMT_DIMS(X) X(32) X(64) X(80) X(96) X(128) X(256)
#if FLASH_ENTRIES == 0
SIMT_DIMS(SIMT_ENTRY)
#elif FLASH_ENTRIES == 1
SIMT_DIMS(SIMT_ALIBI_ENTRY)
#elif FLASH_ENTRIES == 2
SIMT_DIMS(SIMT_VARLEN_ENTRY)
#endif
