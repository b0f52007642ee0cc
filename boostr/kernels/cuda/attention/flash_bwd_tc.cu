// FlashAttention-2 backward on tensor cores (f16 / bf16, head dims 64 and 128), f32 accumulation.
//
// Formula: with p_ij = exp(q_i . k_j * scale - lse_i) (0 where masked or lse_i = -inf),
// delta_i = sum_d dout_id out_id, dp_ij = dout_i . v_j, ds_ij = p_ij (dp_ij - delta_i):
// dv_j = sum_i p_ij dout_i, dk_j = scale sum_i ds_ij q_i, dq_i = scale sum_j ds_ij k_j; the G query
// heads of a KV head sum into its dk / dv. No atomics: dq and dk/dv are separate passes that each
// recompute p (deterministic). Scores are kept in log2 units (exp2, lse * log2 e). P and dS are rounded
// to the input dtype as mma operands (as FlashAttention-2); every product accumulates in f32.
// Layout: q/dout [B, H, Sq, D], k/v [B, Hkv, Sk, D] (element strides per b/h/s, d contiguous, rows
// 16-byte aligned); out [B, H, Sq, D] (rows 4-byte aligned); lse [B, H, Sq] f32 contiguous; delta
// [B, H, Sq] f32; dq [B, H, Sq, D], dk/dv [B, Hkv, Sk, D] contiguous in the input dtype.
// bwd_delta_tc: one warp per row. bwd_dq_tc: grid (ceil(Sq / 64), H, B), 4 warps x 16 query rows; Q and
// dout fragments held in registers, key tiles of 64 (K, V double-buffered by cp.async): S = Q K^T,
// dP = dout V^T, dQ += dS K (K by ldmatrix.trans). bwd_dkdv_tc: grid (ceil(Sk / 64), Hkv, B), 4 warps x
// 16 keys, K / V staged once; the G query heads x query tiles of 64 (q, dout, lse, delta double-buffered)
// give S^T = K Q^T, dV += P^T dout, dP^T = V dout^T, dK += dS^T Q, with keys as the mma rows so P^T and
// dS^T go from the accumulators straight into A fragments. Shared tiles are [rows][D + 8] halves.
// One body serves three entry sets (FLASH_ENTRIES, set by the including file): 0 dense (this file),
// 1 dense + ALiBi (alibi_bwd_tc.cu: every score gets -slope_h * |p_i - j| before p; the slopes get no
// gradient), 2 packed varlen (varlen_bwd_tc.cu: q/dout [Tq, H, D], k/v [Tk, Hkv, D], lse/delta [H, Tq],
// sequence s = rows cu[s]:cu[s+1]; dq grid (ceil(max_q / 64) * num_seqs, H), dk/dv grid
// (ceil(max_k / 64) * num_seqs, Hkv); the St12 strides are (token, head, token) per tensor). Masks as
// flash_bwd.cu (attn_common.cuh: causal bottom-right aligned, window, kv_len).
// Reference: Dao, "FlashAttention-2" (2023), Alg. 2; PTX ISA "Matrix Fragments for mma.m16n8k16";
// Press et al., "ALiBi" (2022). Helpers (cp.async, ldmatrix, mma, mma_abt / mma_pb): mma_tc.cuh.
#include "mma_tc.cuh"

#define NWB 4   // warps per CTA
#define QB 64   // dq: query rows per CTA (16 per warp); dk/dv: query rows per tile
#define KB 64   // dk/dv: keys per CTA (16 per warp); dq: keys per tile
#define POS_INF_F __int_as_float(0x7f800000)

struct St12 {
  i64 v[12];  // element strides (b, h, s) of q, dout, k, v
};

extern "C" __global__ void __launch_bounds__(128)
    bwd_delta_tc_${N}(float* __restrict__ delta, const unsigned short* __restrict__ dout,
                      const unsigned short* __restrict__ out, i64 H, i64 Sq, i64 D, i64 db, i64 dh, i64 ds, i64 ob,
                      i64 oh, i64 os, i64 rows) {
  const i64 row = (i64)blockIdx.x * 4 + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  const i64 i = row % Sq, h = (row / Sq) % H, b = row / (Sq * H);
  const unsigned short* dp = dout + b * db + h * dh + i * ds;
  const unsigned short* op = out + b * ob + h * oh + i * os;
  float s = 0.f;
  for (i64 d = 2 * lane; d < D; d += 64) {
    const u32 x = *reinterpret_cast<const u32*>(dp + d), y = *reinterpret_cast<const u32*>(op + d);
    s = fmaf(half_f32((unsigned short)(x & 0xffffu)), half_f32((unsigned short)(y & 0xffffu)), s);
    s = fmaf(half_f32((unsigned short)(x >> 16)), half_f32((unsigned short)(y >> 16)), s);
  }
  s = warp_sum(s);
  if (lane == 0) delta[row] = s;
}

// lse in log2 units; +inf for a row that saw no key (p = exp2(s - inf) = 0).
__device__ __forceinline__ float lse2(float lv) { return lv == NEG_INF_F ? POS_INF_F : lv * LOG2E_F; }
// v clamped to [lo, hi] as an int (tile-relative mask bounds).
__device__ __forceinline__ int clampi(i64 v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : (int)v); }

// dq of one (batch or sequence, head) query block mblk: dq points at its row 0 (rows dqs elements apart),
// qp/dp at row 0 of its query head (row strides qs, ds), kp/vp at row 0 of its KV head (ks, vs), lsep/dlp at
// its row-0 lse / delta (rows adjacent); slope2 = slope_h * log2 e (ALIBI only).
template <int D, bool ALIBI>
__device__ __forceinline__ void bwd_dq_tc(unsigned short* __restrict__ dq, i64 dqs, const unsigned short* __restrict__ qp,
                                          const unsigned short* __restrict__ dp, const unsigned short* __restrict__ kp,
                                          const unsigned short* __restrict__ vp, i64 qs, i64 ds, i64 ks, i64 vs,
                                          const float* __restrict__ lsep, const float* __restrict__ dlp, i64 Sq,
                                          i64 Sk, i64 mblk, double scale, i64 L, i64 window, i64 limited,
                                          float slope2) {
  constexpr int LD = D + 8, KD = D / 16, NS = KB / 8, ND = D / 8, TB = KB * LD * 2;
  extern __shared__ __align__(16) unsigned short smem[];
  unsigned short* Qs = smem;              // [QB][LD]
  unsigned short* Ds = Qs + QB * LD;      // [QB][LD] dout
  unsigned short* Ks = Ds + QB * LD;      // [2][KB][LD]
  unsigned short* Vs = Ks + 2 * KB * LD;  // [2][KB][LD]
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const i64 i0 = mblk * QB, i1 = (i0 + QB < Sq) ? i0 + QB : Sq;
  const AttnMask mask = make_mask(Sq, L, window, limited);
  i64 jlo, jhi;
  mask.key_range(i0, i1, &jlo, &jhi);
  const i64 nt = (jhi - jlo + KB - 1) / KB;

  load_tile<D, QB>(Qs, qp, qs, i0, Sq);
  load_tile<D, QB>(Ds, dp, ds, i0, Sq);
  if (nt > 0) {
    load_tile<D, KB>(Ks, kp, ks, jlo, Sk);
    load_tile<D, KB>(Vs, vp, vs, jlo, Sk);
  }
  cp_commit();
  const i64 row0 = i0 + warp * 16 + g, row1 = row0 + 8;
  const float lr0 = row0 < Sq ? lse2(lsep[row0]) : POS_INF_F, lr1 = row1 < Sq ? lse2(lsep[row1]) : POS_INF_F;
  const float dr0 = row0 < Sq ? dlp[row0] : 0.f, dr1 = row1 < Sq ? dlp[row1] : 0.f;
  cp_wait_all();
  __syncthreads();

  u32 qf[KD][4], df[KD][4];
  const u32 arow = ((warp * 16 + (lane & 15)) * LD + (lane >> 4) * 8) * 2;
#pragma unroll
  for (int kk = 0; kk < KD; ++kk) {
    ldsm_x4(qf[kk], smem_u32(Qs) + arow + kk * 32);
    ldsm_x4(df[kk], smem_u32(Ds) + arow + kk * 32);
  }
  float acc[ND][4];
#pragma unroll
  for (int n = 0; n < ND; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;
  const float sl2 = (float)scale * LOG2E_F;
  const i64 off = L - Sq;
  const u32 kbase = smem_u32(Ks), vbase = smem_u32(Vs);
  const u32 boff = (((lane & 7) + (lane >> 4) * 8) * LD + ((lane >> 3) & 1) * 8) * 2;

  for (i64 it = 0; it < nt; ++it) {
    const int cur = (int)(it & 1);
    const i64 j0 = jlo + it * KB;
    if (it + 1 < nt) {
      load_tile<D, KB>(Ks + (cur ^ 1) * KB * LD, kp, ks, j0 + KB, Sk);
      load_tile<D, KB>(Vs + (cur ^ 1) * KB * LD, vp, vs, j0 + KB, Sk);
      cp_commit();
    }
    const u32 kc = kbase + cur * TB, vc = vbase + cur * TB;
    float s[NS][4], dpv[NS][4];
#pragma unroll
    for (int n = 0; n < NS; ++n) {
      s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
      dpv[n][0] = dpv[n][1] = dpv[n][2] = dpv[n][3] = 0.f;
    }
    // S = Q K^T and dP = dout V^T (A fragments from registers)
#pragma unroll
    for (int kk = 0; kk < KD; ++kk) {
#pragma unroll
      for (int n = 0; n < NS; n += 2) {
        const u32 o = boff + (n * 8 * LD + kk * 16) * 2;
        u32 r[4];
        ldsm_x4(r, kc + o);
        mma16816(s[n], qf[kk], r[0], r[1]);
        mma16816(s[n + 1], qf[kk], r[2], r[3]);
        ldsm_x4(r, vc + o);
        mma16816(dpv[n], df[kk], r[0], r[1]);
        mma16816(dpv[n + 1], df[kk], r[2], r[3]);
      }
    }
    // p and ds = p (dp - delta). Where the tile is not visible to every row of the block, row r sees the
    // tile columns [lo_r, hi_r] (mask.visible: j < L, j <= p_r when limited, j > p_r - w with a window).
    const bool need = (j0 + KB > jhi) || (limited && j0 + KB - 1 > i0 + off) ||
                      (window > 0 && j0 <= i1 - 1 + off - window);
    int lo0 = 0, hi0 = KB - 1, lo1 = 0, hi1 = KB - 1;
    if (need) {
      const i64 p0 = row0 + off - j0, p1 = row1 + off - j0, last = L - 1 - j0;
      hi0 = clampi(limited && p0 < last ? p0 : last, -1, KB - 1);
      hi1 = clampi(limited && p1 < last ? p1 : last, -1, KB - 1);
      if (window > 0) {
        lo0 = clampi(p0 - window + 1, 0, KB);
        lo1 = clampi(p1 - window + 1, 0, KB);
      }
    }
    const float ab0 = (float)(row0 + off - j0), ab1 = (float)(row1 + off - j0);  // ALiBi: p_r - j0
#pragma unroll
    for (int n = 0; n < NS; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int jj = n * 8 + t * 2 + (e & 1);
        float x = s[n][e] * sl2;
        if (ALIBI) x -= slope2 * fabsf((e < 2 ? ab0 : ab1) - (float)jj);
        float p = exp2f(x - (e < 2 ? lr0 : lr1));
        if (jj < (e < 2 ? lo0 : lo1) || jj > (e < 2 ? hi0 : hi1)) p = 0.f;
        s[n][e] = p * (dpv[n][e] - (e < 2 ? dr0 : dr1));
      }
    }
    // dQ += dS K
    mma_pb<D, KB / 16>(acc, s, kc, lane);
    cp_wait_all();
    __syncthreads();
  }

  const float sc = (float)scale;
#pragma unroll
  for (int n = 0; n < ND; ++n) {
    const int d = n * 8 + t * 2;
    if (row0 < Sq) *reinterpret_cast<u32*>(dq + row0 * dqs + d) = pack2(acc[n][0] * sc, acc[n][1] * sc);
    if (row1 < Sq) *reinterpret_cast<u32*>(dq + row1 * dqs + d) = pack2(acc[n][2] * sc, acc[n][3] * sc);
  }
}

// dk/dv of one (batch or sequence, KV head) key block starting at j0: dk/dv point at its row 0 (rows dks
// elements apart), kp/vp at row 0 of the KV head (row strides ks, vs); qb/db at row 0 of query head 0 (head
// strides qh, dh, row strides qs, ds), lsep/dlp at lse / delta of (head 0, row 0) with head stride lh (rows
// adjacent); the G = H / Hkv query heads hk * G + g are summed. slopes [H] (ALIBI only).
template <int D, bool ALIBI>
__device__ __forceinline__ void bwd_dkdv_tc(unsigned short* __restrict__ dk, unsigned short* __restrict__ dv, i64 dks,
                                            const unsigned short* __restrict__ qb,
                                            const unsigned short* __restrict__ db,
                                            const unsigned short* __restrict__ kp,
                                            const unsigned short* __restrict__ vp, i64 qh, i64 qs, i64 dh, i64 ds,
                                            i64 ks, i64 vs, const float* __restrict__ lsep,
                                            const float* __restrict__ dlp, i64 lh, i64 hk, i64 G, i64 Sq, i64 Sk,
                                            i64 j0, double scale, i64 L, i64 window, i64 limited,
                                            const float* __restrict__ slopes) {
  constexpr int LD = D + 8, NS = QB / 8, ND = D / 8, TB = QB * LD * 2;
  extern __shared__ __align__(16) unsigned short smem[];
  unsigned short* Ks = smem;              // [KB][LD]
  unsigned short* Vs = Ks + KB * LD;      // [KB][LD]
  unsigned short* Qs = Vs + KB * LD;      // [2][QB][LD]
  unsigned short* Ds = Qs + 2 * QB * LD;  // [2][QB][LD] dout
  float* Lq = reinterpret_cast<float*>(Ds + 2 * QB * LD);  // [2][QB] lse2
  float* Dq = Lq + 2 * QB;                                  // [2][QB] delta
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const i64 off = L - Sq, j1 = j0 + KB < Sk ? j0 + KB : Sk;
  // queries that see at least one key of [j0, j1)
  i64 ilo = 0, ihi = Sq;
  if (j0 >= L) ihi = 0;
  if (limited) ilo = j0 - off > 0 ? j0 - off : 0;
  if (window > 0 && (j1 - 1) - off + window < ihi) ihi = (j1 - 1) - off + window;
  const i64 nq = ihi > ilo ? (ihi - ilo + QB - 1) / QB : 0, total = nq * G;

  load_tile<D, KB>(Ks, kp, ks, j0, Sk);
  load_tile<D, KB>(Vs, vp, vs, j0, Sk);
  if (total > 0) {
    load_tile<D, QB>(Qs, qb + hk * G * qh, qs, ilo, Sq);
    load_tile<D, QB>(Ds, db + hk * G * dh, ds, ilo, Sq);
    if (tid < QB) {
      const i64 i = ilo + tid;
      Lq[tid] = i < Sq ? lse2(lsep[hk * G * lh + i]) : POS_INF_F;
      Dq[tid] = i < Sq ? dlp[hk * G * lh + i] : 0.f;
    }
  }
  cp_commit();
  cp_wait_all();
  __syncthreads();

  float dka[ND][4], dva[ND][4];
#pragma unroll
  for (int n = 0; n < ND; ++n) {
    dka[n][0] = dka[n][1] = dka[n][2] = dka[n][3] = 0.f;
    dva[n][0] = dva[n][1] = dva[n][2] = dva[n][3] = 0.f;
  }
  const float sl2 = (float)scale * LOG2E_F;
  const i64 jr0 = j0 + warp * 16 + g, jr1 = jr0 + 8;  // keys of this lane's accumulator rows
  const u32 arow = ((warp * 16 + (lane & 15)) * LD + (lane >> 4) * 8) * 2;
  const u32 ka = smem_u32(Ks) + arow, va = smem_u32(Vs) + arow, qbase = smem_u32(Qs), dbase = smem_u32(Ds);
  i64 gg = 0, i0 = ilo;  // head (within the group) and first query row of the current tile
  for (i64 it = 0; it < total; ++it) {
    const int cur = (int)(it & 1);
    i64 ng = gg, ni = i0 + QB;  // the next tile
    if (ni >= ihi) {
      ni = ilo;
      ++ng;
    }
    float nl = 0.f, nd = 0.f;
    if (it + 1 < total) {
      const i64 h = hk * G + ng;
      load_tile<D, QB>(Qs + (cur ^ 1) * QB * LD, qb + h * qh, qs, ni, Sq);
      load_tile<D, QB>(Ds + (cur ^ 1) * QB * LD, db + h * dh, ds, ni, Sq);
      cp_commit();
      if (tid < QB && ni + tid < Sq) {
        nl = lsep[h * lh + ni + tid];
        nd = dlp[h * lh + ni + tid];
      }
    }
    const u32 qc = qbase + cur * TB, dc = dbase + cur * TB;
    const float* Lc = Lq + cur * QB;
    const float* Dl = Dq + cur * QB;
    const float slope2 = ALIBI ? slopes[hk * G + gg] * LOG2E_F : 0.f;

    // S^T = K Q^T (keys x queries), then P^T in place
    float st[NS][4];
#pragma unroll
    for (int n = 0; n < NS; ++n) st[n][0] = st[n][1] = st[n][2] = st[n][3] = 0.f;
    mma_abt<D, NS>(st, ka, qc, lane);
    // Where the tile is not visible to every pair, key row r sees the tile columns [lo_r, hi_r)
    // (mask.visible: i < Sq, j < L, i >= j - off when limited, i < j - off + w with a window).
    const bool need = (i0 + QB > Sq) || (j0 + KB > L) || (limited && j0 + KB - 1 > i0 + off) ||
                      (window > 0 && j0 <= i0 + QB - 1 + off - window);
    int lo0 = 0, hi0 = QB, lo1 = 0, hi1 = QB;
    if (need) {
      const i64 q0 = jr0 - off - i0, q1 = jr1 - off - i0, end = Sq - i0;
      hi0 = jr0 < L ? clampi(window > 0 && q0 + window < end ? q0 + window : end, 0, QB) : 0;
      hi1 = jr1 < L ? clampi(window > 0 && q1 + window < end ? q1 + window : end, 0, QB) : 0;
      if (limited) {
        lo0 = clampi(q0, 0, QB);
        lo1 = clampi(q1, 0, QB);
      }
    }
    const float ab0 = (float)(i0 + off - jr0), ab1 = (float)(i0 + off - jr1);  // ALiBi: p_i0 - j
#pragma unroll
    for (int n = 0; n < NS; ++n) {
      const int c = n * 8 + t * 2;
      const float2 lq = *reinterpret_cast<const float2*>(Lc + c);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int ii = c + (e & 1);
        float x = st[n][e] * sl2;
        if (ALIBI) x -= slope2 * fabsf((e < 2 ? ab0 : ab1) + (float)ii);
        float p = exp2f(x - ((e & 1) ? lq.y : lq.x));
        if (ii < (e < 2 ? lo0 : lo1) || ii >= (e < 2 ? hi0 : hi1)) p = 0.f;
        st[n][e] = p;
      }
    }
    // dV += P^T dout
    mma_pb<D, QB / 16>(dva, st, dc, lane);
    // dP^T = V dout^T, dS^T = P^T (dP^T - delta)
    float dpt[NS][4];
#pragma unroll
    for (int n = 0; n < NS; ++n) dpt[n][0] = dpt[n][1] = dpt[n][2] = dpt[n][3] = 0.f;
    mma_abt<D, NS>(dpt, va, dc, lane);
#pragma unroll
    for (int n = 0; n < NS; ++n) {
      const float2 dl = *reinterpret_cast<const float2*>(Dl + n * 8 + t * 2);
#pragma unroll
      for (int e = 0; e < 4; ++e) st[n][e] *= dpt[n][e] - ((e & 1) ? dl.y : dl.x);
    }
    // dK += dS^T Q
    mma_pb<D, QB / 16>(dka, st, qc, lane);
    if (it + 1 < total && tid < QB) {
      Lq[(cur ^ 1) * QB + tid] = ni + tid < Sq ? lse2(nl) : POS_INF_F;
      Dq[(cur ^ 1) * QB + tid] = nd;
    }
    gg = ng;
    i0 = ni;
    cp_wait_all();
    __syncthreads();
  }

  const float sc = (float)scale;
#pragma unroll
  for (int n = 0; n < ND; ++n) {
    const int d = n * 8 + t * 2;
    if (jr0 < Sk) {
      *reinterpret_cast<u32*>(dk + jr0 * dks + d) = pack2(dka[n][0] * sc, dka[n][1] * sc);
      *reinterpret_cast<u32*>(dv + jr0 * dks + d) = pack2(dva[n][0], dva[n][1]);
    }
    if (jr1 < Sk) {
      *reinterpret_cast<u32*>(dk + jr1 * dks + d) = pack2(dka[n][2] * sc, dka[n][3] * sc);
      *reinterpret_cast<u32*>(dv + jr1 * dks + d) = pack2(dva[n][2], dva[n][3]);
    }
  }
}

// Dense [B, H, Sq, D] problems: dq grid (query blocks, H, B; heavy late blocks first), dk/dv grid (key
// blocks, Hkv, B; heavy early blocks first).
template <int D, bool ALIBI>
__device__ __forceinline__ void bwd_dq_tc_dense(unsigned short* dq, const unsigned short* q, const unsigned short* k,
                                                const unsigned short* v, const unsigned short* dout, const float* lse,
                                                const float* delta, i64 H, i64 Hkv, i64 Sq, i64 Sk, St12 st,
                                                double scale, i64 L, i64 window, i64 limited, const float* slopes) {
  const i64 h = blockIdx.y, b = blockIdx.z, hk = h / (H / Hkv);
  const i64 rb = (b * H + h) * Sq;
  const float slope2 = ALIBI ? slopes[h] * LOG2E_F : 0.f;
  bwd_dq_tc<D, ALIBI>(dq + rb * D, D, q + b * st.v[0] + h * st.v[1], dout + b * st.v[3] + h * st.v[4],
                      k + b * st.v[6] + hk * st.v[7], v + b * st.v[9] + hk * st.v[10], st.v[2], st.v[5], st.v[8],
                      st.v[11], lse + rb, delta + rb, Sq, Sk, (i64)gridDim.x - 1 - (i64)blockIdx.x, scale, L, window,
                      limited, slope2);
}
template <int D, bool ALIBI>
__device__ __forceinline__ void bwd_dkdv_tc_dense(unsigned short* dk, unsigned short* dv, const unsigned short* q,
                                                  const unsigned short* k, const unsigned short* v,
                                                  const unsigned short* dout, const float* lse, const float* delta,
                                                  i64 H, i64 Hkv, i64 Sq, i64 Sk, St12 st, double scale, i64 L,
                                                  i64 window, i64 limited, const float* slopes) {
  const i64 hk = blockIdx.y, b = blockIdx.z;
  const i64 rk = (b * Hkv + hk) * Sk;
  bwd_dkdv_tc<D, ALIBI>(dk + rk * D, dv + rk * D, D, q + b * st.v[0], dout + b * st.v[3],
                        k + b * st.v[6] + hk * st.v[7], v + b * st.v[9] + hk * st.v[10], st.v[1], st.v[2], st.v[4],
                        st.v[5], st.v[8], st.v[11], lse + b * H * Sq, delta + b * H * Sq, Sq, hk, H / Hkv, Sq, Sk,
                        (i64)blockIdx.x * KB, scale, L, window, limited, slopes);
}

// Packed varlen problems: dq grid (nqb * num_seqs, H), dk/dv grid (nkb * num_seqs, Hkv); sequence s =
// blockIdx.x / nqb (nkb), its key length = L. st: (token, head, token) strides of q, dout, k, v.
template <int D>
__device__ __forceinline__ void bwd_dq_tc_varlen(unsigned short* dq, const unsigned short* q, const unsigned short* k,
                                                 const unsigned short* v, const unsigned short* dout, const float* lse,
                                                 const float* delta, const i64* cu_q, const i64* cu_k, i64 H, i64 Hkv,
                                                 i64 Tq, i64 nqb, St12 st, double scale, i64 window, i64 limited) {
  const i64 s = (i64)blockIdx.x / nqb, mblk = nqb - 1 - (i64)blockIdx.x % nqb;
  const i64 q0 = cu_q[s], sq = cu_q[s + 1] - q0, k0 = cu_k[s], sk = cu_k[s + 1] - k0;
  if (mblk * QB >= sq) return;  // whole CTA: past this sequence's queries
  const i64 h = blockIdx.y, hk = h / (H / Hkv);
  bwd_dq_tc<D, false>(dq + (q0 * H + h) * D, H * D, q + q0 * st.v[0] + h * st.v[1],
                      dout + q0 * st.v[3] + h * st.v[4], k + k0 * st.v[6] + hk * st.v[7],
                      v + k0 * st.v[9] + hk * st.v[10], st.v[2], st.v[5], st.v[8], st.v[11], lse + h * Tq + q0,
                      delta + h * Tq + q0, sq, sk, mblk, scale, sk, window, limited, 0.f);
}
template <int D>
__device__ __forceinline__ void bwd_dkdv_tc_varlen(unsigned short* dk, unsigned short* dv, const unsigned short* q,
                                                   const unsigned short* k, const unsigned short* v,
                                                   const unsigned short* dout, const float* lse, const float* delta,
                                                   const i64* cu_q, const i64* cu_k, i64 H, i64 Hkv, i64 Tq, i64 nkb,
                                                   St12 st, double scale, i64 window, i64 limited) {
  const i64 s = (i64)blockIdx.x / nkb, kblk = (i64)blockIdx.x % nkb;
  const i64 q0 = cu_q[s], sq = cu_q[s + 1] - q0, k0 = cu_k[s], sk = cu_k[s + 1] - k0;
  if (kblk * KB >= sk) return;  // whole CTA: past this sequence's keys
  const i64 hk = blockIdx.y;
  bwd_dkdv_tc<D, false>(dk + (k0 * Hkv + hk) * D, dv + (k0 * Hkv + hk) * D, Hkv * D, q + q0 * st.v[0],
                        dout + q0 * st.v[3], k + k0 * st.v[6] + hk * st.v[7], v + k0 * st.v[9] + hk * st.v[10],
                        st.v[1], st.v[2], st.v[4], st.v[5], st.v[8], st.v[11], lse + q0, delta + q0, Tq, hk, H / Hkv,
                        sq, sk, kblk * KB, scale, sk, window, limited, nullptr);
}

#ifndef FLASH_ENTRIES
#define FLASH_ENTRIES 0
#endif
#define TCB_DQ_ARGS                                                                                                \
  unsigned short *dq, const unsigned short *q, const unsigned short *k, const unsigned short *v,                    \
      const unsigned short *dout, const float *lse, const float *delta, i64 H, i64 Hkv, i64 Sq, i64 Sk, St12 st,    \
      double scale, i64 L, i64 window, i64 limited
#define TCB_DQ_PASS dq, q, k, v, dout, lse, delta, H, Hkv, Sq, Sk, st, scale, L, window, limited
#define TCB_DKDV_ARGS                                                                                              \
  unsigned short *dk, unsigned short *dv, const unsigned short *q, const unsigned short *k, const unsigned short *v, \
      const unsigned short *dout, const float *lse, const float *delta, i64 H, i64 Hkv, i64 Sq, i64 Sk, St12 st,    \
      double scale, i64 L, i64 window, i64 limited
#define TCB_DKDV_PASS dk, dv, q, k, v, dout, lse, delta, H, Hkv, Sq, Sk, st, scale, L, window, limited
#define TCB_VARLEN_TAIL \
  const float *lse, const float *delta, const i64 *cu_q, const i64 *cu_k, i64 H, i64 Hkv, i64 Tq, i64 nb, St12 st, \
      double scale, i64 window, i64 limited
#define TCB_ENTRIES(DIM)                                                                                           \
  extern "C" __global__ void __launch_bounds__(NWB * 32) bwd_dq_tc##DIM##_${N}(TCB_DQ_ARGS) {                     \
    bwd_dq_tc_dense<DIM, false>(TCB_DQ_PASS, nullptr);                                                             \
  }                                                                                                                \
  extern "C" __global__ void __launch_bounds__(NWB * 32) bwd_dkdv_tc##DIM##_${N}(TCB_DKDV_ARGS) {                 \
    bwd_dkdv_tc_dense<DIM, false>(TCB_DKDV_PASS, nullptr);                                                         \
  }
#define TCB_ALIBI_ENTRIES(DIM)                                                                                     \
  extern "C" __global__ void __launch_bounds__(NWB * 32) alibi_bwd_dq_tc##DIM##_${N}(TCB_DQ_ARGS,                 \
                                                                                      const float* slopes) {       \
    bwd_dq_tc_dense<DIM, true>(TCB_DQ_PASS, slopes);                                                               \
  }                                                                                                                \
  extern "C" __global__ void __launch_bounds__(NWB * 32) alibi_bwd_dkdv_tc##DIM##_${N}(TCB_DKDV_ARGS,             \
                                                                                        const float* slopes) {     \
    bwd_dkdv_tc_dense<DIM, true>(TCB_DKDV_PASS, slopes);                                                           \
  }
#define TCB_VARLEN_ENTRIES(DIM)                                                                                    \
  extern "C" __global__ void __launch_bounds__(NWB * 32) varlen_bwd_dq_tc##DIM##_${N}(                            \
      unsigned short* dq, const unsigned short* q, const unsigned short* k, const unsigned short* v,                 \
      const unsigned short* dout, TCB_VARLEN_TAIL) {                                                               \
    bwd_dq_tc_varlen<DIM>(dq, q, k, v, dout, lse, delta, cu_q, cu_k, H, Hkv, Tq, nb, st, scale, window, limited);  \
  }                                                                                                                \
  extern "C" __global__ void __launch_bounds__(NWB * 32) varlen_bwd_dkdv_tc##DIM##_${N}(                          \
      unsigned short* dk, unsigned short* dv, const unsigned short* q, const unsigned short* k,                     \
      const unsigned short* v, const unsigned short* dout, TCB_VARLEN_TAIL) {                                      \
    bwd_dkdv_tc_varlen<DIM>(dk, dv, q, k, v, dout, lse, delta, cu_q, cu_k, H, Hkv, Tq, nb, st, scale, window,      \
                            limited);                                                                              \
  }
#if FLASH_ENTRIES == 0
TCB_ENTRIES(64)
TCB_ENTRIES(128)
#elif FLASH_ENTRIES == 1
TCB_ALIBI_ENTRIES(64)
TCB_ALIBI_ENTRIES(128)
#elif FLASH_ENTRIES == 2
TCB_VARLEN_ENTRIES(64)
TCB_VARLEN_ENTRIES(128)
#endif
