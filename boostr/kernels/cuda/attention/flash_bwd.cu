// FlashAttention-2 backward, SIMT (any float dtype, head dims 32/64/80/96/128/256), f32 accumulation.
//
// Formula: with p_ij = exp(q_i . k_j * scale - lse_i) (0 where masked or lse_i = -inf),
// delta_i = sum_d dout_id out_id, dp_ij = dout_i . v_j, ds_ij = p_ij (dp_ij - delta_i):
// dv_j = sum_i p_ij dout_i, dk_j = scale sum_i ds_ij q_i, dq_i = scale sum_j ds_ij k_j; the G query
// heads of a KV head sum into its dk / dv. No atomics: dq and dk/dv are separate passes that each
// recompute p (deterministic).
// Layout: q/dout/out [B, H, Sq, D], k/v [B, Hkv, Sk, D] with element strides per b/h/s (d contiguous);
// lse [B, H, Sq] f32 contiguous; delta [B, H, Sq] f32; dq [B, H, Sq, D], dk/dv [B, Hkv, Sk, D]
// contiguous in the input dtype. bwd_delta: one warp per row. bwd_dq: grid (ceil(Sq / 16), H, B), 4 warps
// x 4 rows, key tiles of 32 in shared memory (lane j scores key j, lane owns dims lane + 32 e for dq).
// bwd_dkdv: grid (ceil(Sk / 16), Hkv, B), 128 threads, 16 keys per CTA staged once; query tiles of 16
// rows: phase A computes the 16 x 16 p and ds into shared memory, phase B accumulates thread-owned
// (key = tid / 8, d = tid % 8 + 8 e) dk / dv entries.
// One body serves three entry sets (FLASH_ENTRIES, set by the including file): 0 dense (this file),
// 1 dense + ALiBi (alibi_bwd.cu: every score gets -slope_h * |p_i - j| before p; the slopes get no
// gradient), 2 packed varlen (varlen_bwd.cu: q/dout [Tq, H, D], k/v [Tk, Hkv, D], lse/delta [H, Tq],
// sequence s = rows cu[s]:cu[s+1]; dq grid (ceil(max_q / 16) * num_seqs, H), dk/dv grid
// (ceil(max_k / 16) * num_seqs, Hkv); the St12 strides are (token, head, token) per tensor). bwd_delta serves
// both layouts (varlen passes [Tq, H, D] as a [1, H, Tq, D] view: delta [H, Tq]).
// Reference: Dao, "FlashAttention-2" (2023), Alg. 2; Press et al., "ALiBi" (2022).
#include "attn_common.cuh"

#define NWB 4
#define QT 16
#define KT 32
#define KB 16

struct St12 {
  i64 v[12];  // element strides (b, h, s) of q, dout, k, v
};

extern "C" __global__ void __launch_bounds__(128)
    bwd_delta_${N}(float* __restrict__ delta, const ${T}* __restrict__ dout, const ${T}* __restrict__ out, i64 H,
                   i64 Sq, i64 D, i64 db, i64 dh, i64 ds, i64 ob, i64 oh, i64 os, i64 rows) {
  const i64 row = (i64)blockIdx.x * 4 + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  const i64 i = row % Sq, h = (row / Sq) % H, b = row / (Sq * H);
  const ${T}* dp = dout + b * db + h * dh + i * ds;
  const ${T}* op = out + b * ob + h * oh + i * os;
  float s = 0.f;
  for (i64 d = lane; d < D; d += 32) s = fmaf((float)wide(dp[d]), (float)wide(op[d]), s);
  s = warp_sum(s);
  if (lane == 0) delta[row] = s;
}

// dq of one (batch or sequence, head) query block mblk: dq points at its row 0 (rows dqs elements apart),
// qp/dp at row 0 of its query head (row strides qs, ds), kp/vp at row 0 of its KV head (ks, vs), lsep/dlp at
// its row-0 lse / delta (rows adjacent); slope2 = slope_h * log2 e (ALIBI only).
template <int D, bool ALIBI>
__device__ __forceinline__ void bwd_dq(${T}* __restrict__ dq, i64 dqs, const ${T}* __restrict__ qp,
                                       const ${T}* __restrict__ dp, const ${T}* __restrict__ kp,
                                       const ${T}* __restrict__ vp, i64 qs, i64 ds, i64 ks, i64 vs,
                                       const float* __restrict__ lsep, const float* __restrict__ dlp, i64 Sq,
                                       i64 mblk, double scale, i64 L, i64 window, i64 limited, float slope2) {
  constexpr int E = (D + 31) / 32, KL = D + 1;
  extern __shared__ __align__(16) float fsm[];
  float* Qs = fsm;               // [QT][D] (q * scale * log2 e)
  float* Ds = Qs + QT * D;       // [QT][D] dout
  float* Ks = Ds + QT * D;       // [KT][D + 1]
  float* Vs = Ks + KT * KL;      // [KT][D + 1]
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const i64 i0 = mblk * QT, i1 = i0 + QT < Sq ? i0 + QT : Sq;
  const AttnMask mask = make_mask(Sq, L, window, limited);
  i64 jlo, jhi;
  mask.key_range(i0, i1, &jlo, &jhi);
  const float sl2 = (float)scale * LOG2E_F;
  for (int idx = threadIdx.x; idx < QT * D; idx += NWB * 32) {
    const i64 i = i0 + idx / D;
    const int d = idx % D;
    Qs[idx] = i < Sq ? (float)wide(qp[i * qs + d]) * sl2 : 0.f;
    Ds[idx] = i < Sq ? (float)wide(dp[i * ds + d]) : 0.f;
  }
  float lrow[4], drow[4], acc[4][E];
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const i64 i = i0 + warp * 4 + r;
    const float lv = i < Sq ? lsep[i] : NEG_INF_F;
    lrow[r] = lv == NEG_INF_F ? __int_as_float(0x7f800000) : lv * LOG2E_F;  // +inf: p = 0
    drow[r] = i < Sq ? dlp[i] : 0.f;
#pragma unroll
    for (int e = 0; e < E; ++e) acc[r][e] = 0.f;
  }
  for (i64 j0 = jlo; j0 < jhi; j0 += KT) {
    __syncthreads();
    for (int idx = threadIdx.x; idx < KT * D; idx += NWB * 32) {
      const int jj = idx / D, d = idx % D;
      const i64 j = j0 + jj;
      const bool ok = j < jhi;
      Ks[jj * KL + d] = ok ? (float)wide(kp[j * ks + d]) : 0.f;
      Vs[jj * KL + d] = ok ? (float)wide(vp[j * vs + d]) : 0.f;
    }
    __syncthreads();
    const i64 j = j0 + lane;
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int wr = warp * 4 + r;
      const i64 i = i0 + wr;
      float s = 0.f, dpv = 0.f;
#pragma unroll 8
      for (int d = 0; d < D; ++d) {
        s = fmaf(Qs[wr * D + d], Ks[lane * KL + d], s);
        dpv = fmaf(Ds[wr * D + d], Vs[lane * KL + d], dpv);
      }
      const bool vis = i < Sq && j < jhi && mask.visible(i, j);
      if (ALIBI) s -= slope2 * fabsf((float)(i + L - Sq - j));
      const float p = vis ? exp2f(s - lrow[r]) : 0.f;
      const float dsv = p * (dpv - drow[r]);
      for (int jj = 0; jj < KT; ++jj) {
        const float dj = __shfl_sync(0xffffffffu, dsv, jj);
#pragma unroll
        for (int e = 0; e < E; ++e) {
          const int d = e * 32 + lane;
          if (d < D) acc[r][e] = fmaf(dj, Ks[jj * KL + d], acc[r][e]);
        }
      }
    }
  }
  const float sc = (float)scale;
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const i64 i = i0 + warp * 4 + r;
    if (i >= Sq) continue;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int d = e * 32 + lane;
      if (d < D) dq[i * dqs + d] = put<${T}>(acc[r][e] * sc);
    }
  }
}

// dk/dv of one (batch or sequence, KV head) key block starting at j0: dk/dv point at its row 0 (rows dks
// elements apart), kp/vp at row 0 of the KV head (row strides ks, vs); qb/db at row 0 of query head 0 (head
// strides qh, dh, row strides qs, ds), lsep/dlp at lse / delta of (head 0, row 0) with head stride lh (rows
// adjacent); the G = H / Hkv query heads hk * G + g are summed. slopes [H] (ALIBI only).
template <int D, bool ALIBI>
__device__ __forceinline__ void bwd_dkdv(${T}* __restrict__ dk, ${T}* __restrict__ dv, i64 dks,
                                         const ${T}* __restrict__ qb, const ${T}* __restrict__ db,
                                         const ${T}* __restrict__ kp, const ${T}* __restrict__ vp, i64 qh, i64 qs,
                                         i64 dh, i64 ds, i64 ks, i64 vs, const float* __restrict__ lsep,
                                         const float* __restrict__ dlp, i64 lh, i64 hk, i64 G, i64 Sq, i64 Sk,
                                         i64 j0, double scale, i64 L, i64 window, i64 limited,
                                         const float* __restrict__ slopes) {
  constexpr int KL = D + 1, EB = (D + 7) / 8;
  extern __shared__ __align__(16) float fsm[];
  float* Ks = fsm;              // [KB][D + 1]
  float* Vs = Ks + KB * KL;     // [KB][D + 1]
  float* Qs = Vs + KB * KL;     // [QT][D + 1] raw q
  float* Ds = Qs + QT * KL;     // [QT][D + 1] dout
  float* Ps = Ds + QT * KL;     // [QT][KB + 1]
  float* Ss = Ps + QT * (KB + 1);  // [QT][KB + 1] ds
  float* Lr = Ss + QT * (KB + 1);  // [QT] lse (log2 units, +inf when the row saw nothing)
  float* Dr = Lr + QT;             // [QT] delta
  const int tid = threadIdx.x;
  const i64 off = L - Sq;
  for (int idx = tid; idx < KB * D; idx += 128) {
    const int jj = idx / D, d = idx % D;
    const i64 j = j0 + jj;
    Ks[jj * KL + d] = j < Sk ? (float)wide(kp[j * ks + d]) : 0.f;
    Vs[jj * KL + d] = j < Sk ? (float)wide(vp[j * vs + d]) : 0.f;
  }
  const int kj = tid / 8, dl = tid % 8;
  float adk[EB], adv[EB];
#pragma unroll
  for (int e = 0; e < EB; ++e) adk[e] = adv[e] = 0.f;
  const AttnMask mask = make_mask(Sq, L, window, limited);
  const i64 j1 = j0 + KB < Sk ? j0 + KB : Sk;
  i64 ilo = 0, ihi = Sq;
  if (j0 >= L) ihi = 0;
  if (limited) ilo = j0 - off > 0 ? j0 - off : 0;
  if (window > 0 && (j1 - 1) - off + window < ihi) ihi = (j1 - 1) - off + window;
  const float sl2 = (float)scale * LOG2E_F;
  for (i64 g = 0; g < G; ++g) {
    const i64 h = hk * G + g;
    const ${T}* qp = qb + h * qh;
    const ${T}* dp = db + h * dh;
    const float* lp = lsep + h * lh;
    const float* dlh = dlp + h * lh;
    const float slope2 = ALIBI ? slopes[h] * LOG2E_F : 0.f;
    for (i64 i0 = ilo; i0 < ihi; i0 += QT) {
      __syncthreads();
      for (int idx = tid; idx < QT * D; idx += 128) {
        const int r = idx / D, d = idx % D;
        const i64 i = i0 + r;
        const bool ok = i < ihi;
        Qs[r * KL + d] = ok ? (float)wide(qp[i * qs + d]) : 0.f;
        Ds[r * KL + d] = ok ? (float)wide(dp[i * ds + d]) : 0.f;
      }
      if (tid < QT) {
        const i64 i = i0 + tid;
        const float lv = i < ihi ? lp[i] : NEG_INF_F;
        Lr[tid] = lv == NEG_INF_F ? __int_as_float(0x7f800000) : lv * LOG2E_F;
        Dr[tid] = i < ihi ? dlh[i] : 0.f;
      }
      __syncthreads();
      // phase A: p and ds for the QT x KB pairs, two per thread
      for (int idx = tid; idx < QT * KB; idx += 128) {
        const int r = idx / KB, jj = idx % KB;
        const i64 i = i0 + r, j = j0 + jj;
        float s = 0.f, dpv = 0.f;
#pragma unroll 8
        for (int d = 0; d < D; ++d) {
          s = fmaf(Qs[r * KL + d], Ks[jj * KL + d], s);
          dpv = fmaf(Ds[r * KL + d], Vs[jj * KL + d], dpv);
        }
        const bool vis = i < ihi && j < Sk && mask.visible(i, j);
        const float bias = ALIBI ? -slope2 * fabsf((float)(i + off - j)) : 0.f;
        const float p = vis ? exp2f(s * sl2 + bias - Lr[r]) : 0.f;
        Ps[r * (KB + 1) + jj] = p;
        Ss[r * (KB + 1) + jj] = p * (dpv - Dr[r]);
      }
      __syncthreads();
      // phase B: dv[kj] += sum_r p[r, kj] dout[r]; dk[kj] += sum_r ds[r, kj] q[r]
      for (int r = 0; r < QT; ++r) {
        const float p = Ps[r * (KB + 1) + kj], dsv = Ss[r * (KB + 1) + kj];
#pragma unroll
        for (int e = 0; e < EB; ++e) {
          const int d = dl + 8 * e;
          if (d < D) {
            adv[e] = fmaf(p, Ds[r * KL + d], adv[e]);
            adk[e] = fmaf(dsv, Qs[r * KL + d], adk[e]);
          }
        }
      }
    }
  }
  const i64 j = j0 + kj;
  if (j < Sk) {
    const float sc = (float)scale;
#pragma unroll
    for (int e = 0; e < EB; ++e) {
      const int d = dl + 8 * e;
      if (d < D) {
        dk[j * dks + d] = put<${T}>(adk[e] * sc);
        dv[j * dks + d] = put<${T}>(adv[e]);
      }
    }
  }
}

// Dense [B, H, Sq, D] problems: dq grid (query blocks, H, B), dk/dv grid (key blocks, Hkv, B).
template <int D, bool ALIBI>
__device__ __forceinline__ void bwd_dq_dense(${T}* dq, const ${T}* q, const ${T}* k, const ${T}* v, const ${T}* dout,
                                             const float* lse, const float* delta, i64 H, i64 Hkv, i64 Sq, St12 st,
                                             double scale, i64 L, i64 window, i64 limited, const float* slopes) {
  const i64 h = blockIdx.y, b = blockIdx.z, hk = h / (H / Hkv);
  const i64 rb = (b * H + h) * Sq;
  const float slope2 = ALIBI ? slopes[h] * LOG2E_F : 0.f;
  bwd_dq<D, ALIBI>(dq + rb * D, D, q + b * st.v[0] + h * st.v[1], dout + b * st.v[3] + h * st.v[4],
                   k + b * st.v[6] + hk * st.v[7], v + b * st.v[9] + hk * st.v[10], st.v[2], st.v[5], st.v[8],
                   st.v[11], lse + rb, delta + rb, Sq, (i64)blockIdx.x, scale, L, window, limited, slope2);
}
template <int D, bool ALIBI>
__device__ __forceinline__ void bwd_dkdv_dense(${T}* dk, ${T}* dv, const ${T}* q, const ${T}* k, const ${T}* v,
                                               const ${T}* dout, const float* lse, const float* delta, i64 H, i64 Hkv,
                                               i64 Sq, i64 Sk, St12 st, double scale, i64 L, i64 window, i64 limited,
                                               const float* slopes) {
  const i64 hk = blockIdx.y, b = blockIdx.z;
  const i64 rk = (b * Hkv + hk) * Sk;
  bwd_dkdv<D, ALIBI>(dk + rk * D, dv + rk * D, D, q + b * st.v[0], dout + b * st.v[3], k + b * st.v[6] + hk * st.v[7],
                     v + b * st.v[9] + hk * st.v[10], st.v[1], st.v[2], st.v[4], st.v[5], st.v[8], st.v[11],
                     lse + b * H * Sq, delta + b * H * Sq, Sq, hk, H / Hkv, Sq, Sk, (i64)blockIdx.x * KB, scale, L,
                     window, limited, slopes);
}

// Packed varlen problems: dq grid (nqb * num_seqs, H), dk/dv grid (nkb * num_seqs, Hkv); sequence s =
// blockIdx.x / nqb (nkb), its key length = L. st: (token, head, token) strides of q, dout, k, v.
template <int D>
__device__ __forceinline__ void bwd_dq_varlen(${T}* dq, const ${T}* q, const ${T}* k, const ${T}* v,
                                              const ${T}* dout, const float* lse, const float* delta,
                                              const i64* cu_q, const i64* cu_k, i64 H, i64 Hkv, i64 Tq, i64 nqb,
                                              St12 st, double scale, i64 window, i64 limited) {
  const i64 s = (i64)blockIdx.x / nqb, mblk = (i64)blockIdx.x % nqb;
  const i64 q0 = cu_q[s], sq = cu_q[s + 1] - q0, k0 = cu_k[s], sk = cu_k[s + 1] - k0;
  if (mblk * QT >= sq) return;  // whole CTA: past this sequence's queries
  const i64 h = blockIdx.y, hk = h / (H / Hkv);
  bwd_dq<D, false>(dq + (q0 * H + h) * D, H * D, q + q0 * st.v[0] + h * st.v[1], dout + q0 * st.v[3] + h * st.v[4],
                   k + k0 * st.v[6] + hk * st.v[7], v + k0 * st.v[9] + hk * st.v[10], st.v[2], st.v[5], st.v[8],
                   st.v[11], lse + h * Tq + q0, delta + h * Tq + q0, sq, mblk, scale, sk, window, limited, 0.f);
}
template <int D>
__device__ __forceinline__ void bwd_dkdv_varlen(${T}* dk, ${T}* dv, const ${T}* q, const ${T}* k, const ${T}* v,
                                                const ${T}* dout, const float* lse, const float* delta,
                                                const i64* cu_q, const i64* cu_k, i64 H, i64 Hkv, i64 Tq, i64 nkb,
                                                St12 st, double scale, i64 window, i64 limited) {
  const i64 s = (i64)blockIdx.x / nkb, kblk = (i64)blockIdx.x % nkb;
  const i64 q0 = cu_q[s], sq = cu_q[s + 1] - q0, k0 = cu_k[s], sk = cu_k[s + 1] - k0;
  if (kblk * KB >= sk) return;  // whole CTA: past this sequence's keys
  const i64 hk = blockIdx.y;
  bwd_dkdv<D, false>(dk + (k0 * Hkv + hk) * D, dv + (k0 * Hkv + hk) * D, Hkv * D, q + q0 * st.v[0],
                     dout + q0 * st.v[3], k + k0 * st.v[6] + hk * st.v[7], v + k0 * st.v[9] + hk * st.v[10], st.v[1],
                     st.v[2], st.v[4], st.v[5], st.v[8], st.v[11], lse + q0, delta + q0, Tq, hk, H / Hkv, sq, sk,
                     kblk * KB, scale, sk, window, limited, nullptr);
}

#ifndef FLASH_ENTRIES
#define FLASH_ENTRIES 0
#endif
#define DQ_ARGS                                                                                                   \
  ${T} *dq, const ${T} *q, const ${T} *k, const ${T} *v, const ${T} *dout, const float *lse, const float *delta,   \
      i64 H, i64 Hkv, i64 Sq, St12 st, double scale, i64 L, i64 window, i64 limited
#define DQ_PASS dq, q, k, v, dout, lse, delta, H, Hkv, Sq, st, scale, L, window, limited
#define DKDV_ARGS                                                                                                 \
  ${T} *dk, ${T} *dv, const ${T} *q, const ${T} *k, const ${T} *v, const ${T} *dout, const float *lse,             \
      const float *delta, i64 H, i64 Hkv, i64 Sq, i64 Sk, St12 st, double scale, i64 L, i64 window, i64 limited
#define DKDV_PASS dk, dv, q, k, v, dout, lse, delta, H, Hkv, Sq, Sk, st, scale, L, window, limited
#define BWD_ENTRIES(DIM)                                                                                          \
  extern "C" __global__ void __launch_bounds__(128) bwd_dq##DIM##_${N}(DQ_ARGS) {                                 \
    bwd_dq_dense<DIM, false>(DQ_PASS, nullptr);                                                                   \
  }                                                                                                               \
  extern "C" __global__ void __launch_bounds__(128) bwd_dkdv##DIM##_${N}(DKDV_ARGS) {                             \
    bwd_dkdv_dense<DIM, false>(DKDV_PASS, nullptr);                                                               \
  }
#define ALIBI_BWD_ENTRIES(DIM)                                                                                    \
  extern "C" __global__ void __launch_bounds__(128) alibi_bwd_dq##DIM##_${N}(DQ_ARGS, const float* slopes) {     \
    bwd_dq_dense<DIM, true>(DQ_PASS, slopes);                                                                     \
  }                                                                                                               \
  extern "C" __global__ void __launch_bounds__(128) alibi_bwd_dkdv##DIM##_${N}(DKDV_ARGS, const float* slopes) { \
    bwd_dkdv_dense<DIM, true>(DKDV_PASS, slopes);                                                                 \
  }
#define VARLEN_BWD_ENTRIES(DIM)                                                                                   \
  extern "C" __global__ void __launch_bounds__(128) varlen_bwd_dq##DIM##_${N}(                                    \
      ${T}* dq, const ${T}* q, const ${T}* k, const ${T}* v, const ${T}* dout, const float* lse,                   \
      const float* delta, const i64* cu_q, const i64* cu_k, i64 H, i64 Hkv, i64 Tq, i64 nqb, St12 st,             \
      double scale, i64 window, i64 limited) {                                                                    \
    bwd_dq_varlen<DIM>(dq, q, k, v, dout, lse, delta, cu_q, cu_k, H, Hkv, Tq, nqb, st, scale, window, limited);  \
  }                                                                                                               \
  extern "C" __global__ void __launch_bounds__(128) varlen_bwd_dkdv##DIM##_${N}(                                  \
      ${T}* dk, ${T}* dv, const ${T}* q, const ${T}* k, const ${T}* v, const ${T}* dout, const float* lse,         \
      const float* delta, const i64* cu_q, const i64* cu_k, i64 H, i64 Hkv, i64 Tq, i64 nkb, St12 st,             \
      double scale, i64 window, i64 limited) {                                                                    \
    bwd_dkdv_varlen<DIM>(dk, dv, q, k, v, dout, lse, delta, cu_q, cu_k, H, Hkv, Tq, nkb, st, scale, window,       \
                         limited);                                                                                \
  }
#define BWD_DIMS(X) X(32) X(64) X(80) X(96) X(128) X(256)
#if FLASH_ENTRIES == 0
BWD_DIMS(BWD_ENTRIES)
#elif FLASH_ENTRIES == 1
BWD_DIMS(ALIBI_BWD_ENTRIES)
#elif FLASH_ENTRIES == 2
BWD_DIMS(VARLEN_BWD_ENTRIES)
#endif
