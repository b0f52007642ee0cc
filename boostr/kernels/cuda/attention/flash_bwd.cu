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
// Reference: Dao, "FlashAttention-2" (2023), Alg. 2.
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

template <int D>
__device__ __forceinline__ void bwd_dq(${T}* __restrict__ dq, const ${T}* __restrict__ q, const ${T}* __restrict__ k,
                                       const ${T}* __restrict__ v, const ${T}* __restrict__ dout,
                                       const float* __restrict__ lse, const float* __restrict__ delta, i64 H, i64 Hkv,
                                       i64 Sq, St12 st, double scale, i64 L, i64 window,
                                       i64 limited) {
  constexpr int E = (D + 31) / 32, KL = D + 1;
  extern __shared__ __align__(16) float fsm[];
  float* Qs = fsm;               // [QT][D] (q * scale * log2 e)
  float* Ds = Qs + QT * D;       // [QT][D] dout
  float* Ks = Ds + QT * D;       // [KT][D + 1]
  float* Vs = Ks + KT * KL;      // [KT][D + 1]
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const i64 h = blockIdx.y, b = blockIdx.z, hk = h / (H / Hkv);
  const i64 i0 = (i64)blockIdx.x * QT, i1 = i0 + QT < Sq ? i0 + QT : Sq;
  const AttnMask mask = make_mask(Sq, L, window, limited);
  i64 jlo, jhi;
  mask.key_range(i0, i1, &jlo, &jhi);
  const ${T}* qp = q + b * st.v[0] + h * st.v[1];
  const ${T}* dp = dout + b * st.v[3] + h * st.v[4];
  const ${T}* kp = k + b * st.v[6] + hk * st.v[7];
  const ${T}* vp = v + b * st.v[9] + hk * st.v[10];
  const float sl2 = (float)scale * LOG2E_F;
  for (int idx = threadIdx.x; idx < QT * D; idx += NWB * 32) {
    const i64 i = i0 + idx / D;
    const int d = idx % D;
    Qs[idx] = i < Sq ? (float)wide(qp[i * st.v[2] + d]) * sl2 : 0.f;
    Ds[idx] = i < Sq ? (float)wide(dp[i * st.v[5] + d]) : 0.f;
  }
  float lrow[4], drow[4], acc[4][E];
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const i64 i = i0 + warp * 4 + r;
    const i64 row = (b * H + h) * Sq + i;
    const float lv = i < Sq ? lse[row] : NEG_INF_F;
    lrow[r] = lv == NEG_INF_F ? __int_as_float(0x7f800000) : lv * LOG2E_F;  // +inf: p = 0
    drow[r] = i < Sq ? delta[row] : 0.f;
#pragma unroll
    for (int e = 0; e < E; ++e) acc[r][e] = 0.f;
  }
  for (i64 j0 = jlo; j0 < jhi; j0 += KT) {
    __syncthreads();
    for (int idx = threadIdx.x; idx < KT * D; idx += NWB * 32) {
      const int jj = idx / D, d = idx % D;
      const i64 j = j0 + jj;
      const bool ok = j < jhi;
      Ks[jj * KL + d] = ok ? (float)wide(kp[j * st.v[8] + d]) : 0.f;
      Vs[jj * KL + d] = ok ? (float)wide(vp[j * st.v[11] + d]) : 0.f;
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
    const i64 row = (b * H + h) * Sq + i;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int d = e * 32 + lane;
      if (d < D) dq[row * D + d] = put<${T}>(acc[r][e] * sc);
    }
  }
}

template <int D>
__device__ __forceinline__ void bwd_dkdv(${T}* __restrict__ dk, ${T}* __restrict__ dv, const ${T}* __restrict__ q,
                                         const ${T}* __restrict__ k, const ${T}* __restrict__ v,
                                         const ${T}* __restrict__ dout, const float* __restrict__ lse,
                                         const float* __restrict__ delta, i64 H, i64 Hkv, i64 Sq, i64 Sk,
                                         St12 st, double scale, i64 L, i64 window, i64 limited) {
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
  const i64 hk = blockIdx.y, b = blockIdx.z, G = H / Hkv;
  const i64 j0 = (i64)blockIdx.x * KB;
  const i64 off = L - Sq;
  const ${T}* kp = k + b * st.v[6] + hk * st.v[7];
  const ${T}* vp = v + b * st.v[9] + hk * st.v[10];
  for (int idx = tid; idx < KB * D; idx += 128) {
    const int jj = idx / D, d = idx % D;
    const i64 j = j0 + jj;
    Ks[jj * KL + d] = j < Sk ? (float)wide(kp[j * st.v[8] + d]) : 0.f;
    Vs[jj * KL + d] = j < Sk ? (float)wide(vp[j * st.v[11] + d]) : 0.f;
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
    const ${T}* qp = q + b * st.v[0] + h * st.v[1];
    const ${T}* dp = dout + b * st.v[3] + h * st.v[4];
    for (i64 i0 = ilo; i0 < ihi; i0 += QT) {
      __syncthreads();
      for (int idx = tid; idx < QT * D; idx += 128) {
        const int r = idx / D, d = idx % D;
        const i64 i = i0 + r;
        const bool ok = i < ihi;
        Qs[r * KL + d] = ok ? (float)wide(qp[i * st.v[2] + d]) : 0.f;
        Ds[r * KL + d] = ok ? (float)wide(dp[i * st.v[5] + d]) : 0.f;
      }
      if (tid < QT) {
        const i64 i = i0 + tid, row = (b * H + h) * Sq + i;
        const float lv = i < ihi ? lse[row] : NEG_INF_F;
        Lr[tid] = lv == NEG_INF_F ? __int_as_float(0x7f800000) : lv * LOG2E_F;
        Dr[tid] = i < ihi ? delta[row] : 0.f;
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
        const float p = vis ? exp2f(s * sl2 - Lr[r]) : 0.f;
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
    const i64 row = (b * Hkv + hk) * Sk + j;
#pragma unroll
    for (int e = 0; e < EB; ++e) {
      const int d = dl + 8 * e;
      if (d < D) {
        dk[row * D + d] = put<${T}>(adk[e] * sc);
        dv[row * D + d] = put<${T}>(adv[e]);
      }
    }
  }
}

#define BWD_ENTRIES(DIM)                                                                                          \
  extern "C" __global__ void __launch_bounds__(128) bwd_dq##DIM##_${N}(                                           \
      ${T}* dq, const ${T}* q, const ${T}* k, const ${T}* v, const ${T}* dout, const float* lse,                   \
      const float* delta, i64 H, i64 Hkv, i64 Sq, St12 st, double scale, i64 L, i64 window, i64 limited) {   \
    bwd_dq<DIM>(dq, q, k, v, dout, lse, delta, H, Hkv, Sq, st, scale, L, window, limited);                       \
  }                                                                                                               \
  extern "C" __global__ void __launch_bounds__(128) bwd_dkdv##DIM##_${N}(                                         \
      ${T}* dk, ${T}* dv, const ${T}* q, const ${T}* k, const ${T}* v, const ${T}* dout, const float* lse,         \
      const float* delta, i64 H, i64 Hkv, i64 Sq, i64 Sk, St12 st, double scale, i64 L, i64 window,          \
      i64 limited) {                                                                                              \
    bwd_dkdv<DIM>(dk, dv, q, k, v, dout, lse, delta, H, Hkv, Sq, Sk, st, scale, L, window, limited);              \
  }
BWD_ENTRIES(32)
BWD_ENTRIES(64)
BWD_ENTRIES(80)
BWD_ENTRIES(96)
BWD_ENTRIES(128)
BWD_ENTRIES(256)
