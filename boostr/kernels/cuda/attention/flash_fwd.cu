// FlashAttention-2 forward, SIMT (any float dtype, head dims 32/64/80/96/128/256), f32 accumulation.
//
// Formula: out_i = sum_j softmax_j(q_i . k_j * scale + mask_ij) v_j, lse_i = log sum_j exp(...), by the
// online softmax of attn_common.cuh in log2 units (out 0 and lse -inf for a row with no visible key).
// Layout: q [B, H, Sq, D], k/v [B, Hkv, Sk, D] with element strides per b/h/s (d contiguous); out
// [B, H, Sq, D] contiguous in q's dtype, lse [B, H, Sq] f32. Grid (ceil(Sq / 16), H, B), 4 warps; each
// warp owns 4 query rows; key tiles of 32 keys are staged in shared memory as f32 (K rows padded to
// D + 1 for conflict-free column reads). Lane j scores key j of the tile; for P V lane owns the dims
// d = lane + 32 e and receives each p_j by shuffle.
// Reference: Dao, "FlashAttention-2" (2023), Alg. 1.
#include "attn_common.cuh"

#define NWS 4
#define RW 4
#define BMS (NWS * RW)
#define BNS 32

template <int D>
__device__ __forceinline__ void flash_fwd_simt(${T}* __restrict__ out, float* __restrict__ lse, const ${T}* __restrict__ q,
                                               const ${T}* __restrict__ k, const ${T}* __restrict__ v, i64 H, i64 Hkv,
                                               i64 Sq, i64 qb, i64 qh, i64 qs, i64 kb, i64 kh, i64 ks, i64 vb, i64 vh,
                                               i64 vs, double scale, i64 L, i64 window, i64 limited) {
  constexpr int E = (D + 31) / 32, KL = D + 1;
  extern __shared__ __align__(16) float fsm[];
  float* Qs = fsm;              // [BMS][D]
  float* Ks = Qs + BMS * D;     // [BNS][D + 1]
  float* Vs = Ks + BNS * KL;    // [BNS][D]
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const i64 h = blockIdx.y, b = blockIdx.z, hk = h / (H / Hkv);
  const i64 i0 = (i64)blockIdx.x * BMS, i1 = i0 + BMS < Sq ? i0 + BMS : Sq;
  const AttnMask mask = make_mask(Sq, L, window, limited);
  i64 jlo, jhi;
  mask.key_range(i0, i1, &jlo, &jhi);
  const ${T}* qp = q + b * qb + h * qh;
  const ${T}* kp = k + b * kb + hk * kh;
  const ${T}* vp = v + b * vb + hk * vh;
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
    const i64 row = (b * H + h) * Sq + i;
    const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int d = e * 32 + lane;
      if (d < D) out[row * D + d] = put<${T}>(acc[r][e] * inv);
    }
    if (lane == 0) lse[row] = l[r] > 0.f ? (m[r] + log2f(l[r])) * LN2_F : NEG_INF_F;
  }
}

#define SIMT_ENTRY(DIM)                                                                                            \
  extern "C" __global__ void __launch_bounds__(NWS * 32) flash_fwd_simt##DIM##_${N}(                               \
      ${T}* out, float* lse, const ${T}* q, const ${T}* k, const ${T}* v, i64 H, i64 Hkv, i64 Sq, i64 qb, i64 qh,  \
      i64 qs, i64 kb, i64 kh, i64 ks, i64 vb, i64 vh, i64 vs, double scale, i64 L, i64 window, i64 limited) {      \
    flash_fwd_simt<DIM>(out, lse, q, k, v, H, Hkv, Sq, qb, qh, qs, kb, kh, ks, vb, vh, vs, scale, L, window,       \
                        limited);                                                                                  \
  }
SIMT_ENTRY(32)
SIMT_ENTRY(64)
SIMT_ENTRY(80)
SIMT_ENTRY(96)
SIMT_ENTRY(128)
SIMT_ENTRY(256)
