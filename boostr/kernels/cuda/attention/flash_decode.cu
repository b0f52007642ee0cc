// Flash decoding (split-K over the keys) for contiguous and paged KV caches on CUDA cores, and the LSE
// combine. The backend runs these partial kernels for f32; f16 / bf16 run flash_decode_tc.cu (tensor
// cores, one partial per CTA), whose partials the same combine merges.
//
// Formula: the keys of a (batch, KV head) are cut into chunks; per chunk and warp the partial
// (m, l, acc) of the online softmax (log2 units, attn_common.cuh) is written, and the combine computes
// M = max m_s, l = sum l_s 2^(m_s - M), out = sum acc_s 2^(m_s - M) / l (0 when l == 0) and
// lse = ln2 (M + log2 l) (-inf when l == 0).
// Layout: q [B, H, Sq, D] (element strides per b/h/s, d contiguous); rows are numbered like q's flat
// [B, H, Sq] index. Contiguous: k/v [B, Hkv, Sk, D] (strides per b/h/s); keys [jlo, jhi) of the one
// query (Sq == 1, no mask needed inside the range). Paged: k/v_blocks [N, bs, Hkv, D] contiguous, key t
// of sequence b at row clamp(table[b, t / bs]) * bs + t % bs, ctx_b = clamp(context_lens[b]); query i
// sees t < ctx_b and, when causal, t <= ctx_b - Sq + i. Grid (splits, Hkv * row groups, B), 4 warps;
// a CTA serves up to RMAX of the G * Sq rows of its KV head (GQA: K/V read once per group); warp w
// takes KU keys at a time; lane holds the dims LaneRow<T, D>::dim(lane, e). Partials
// pm, pl [rows, NP], pacc [rows, NP, D] f32 with NP = splits * 4.
// One body serves two entry sets (DECODE_SET, set by the including file): 0 dense contiguous + paged
// partials and the combine (this file), 1 contiguous partials with ALiBi (alibi_decode.cu: the score of
// key j in head h gets -slope_h * |pos - j|, pos = L - 1, in log2 units; slopes [H] f32), whose
// partials this file's combine merges. The ALiBi code compiles away in the dense entries.
// Reference: Dao et al., "Flash-Decoding for long-context inference" (2023); Kwon et al., vLLM
// PagedAttention (SOSP 2023); Dao, "FlashAttention-2" (2023); Press et al., "ALiBi" (2022).
#include "attn_common.cuh"

#define NWD 4

// ALIBI (contiguous only, Sq == 1): slopes [H] f32, pos = the query's position (L - 1).
template <int D, bool PAGED, bool ALIBI>
__device__ __forceinline__ void decode_body(float* __restrict__ pm, float* __restrict__ pl, float* __restrict__ pacc,
                                            const ${T}* __restrict__ q, const ${T}* __restrict__ k,
                                            const ${T}* __restrict__ v, const i64* __restrict__ table,
                                            const i64* __restrict__ lens, i64 H, i64 Hkv, i64 Sq, i64 qb, i64 qh,
                                            i64 qs, i64 kb, i64 kh, i64 ks, i64 jlo, i64 jhi, i64 chunk, i64 nblk,
                                            i64 bs, i64 mb, i64 causal, double scale, i64 vec,
                                            const float* __restrict__ slopes, i64 pos) {
  static_assert(!(PAGED && ALIBI), "ALiBi decode: contiguous caches only");
  typedef LaneRow<${T}, D> LR;
  constexpr int E = LR::E;
  constexpr int RMAX = D <= 128 ? 8 : 4;
  constexpr int KU = E <= 4 ? 4 : 2;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const i64 G = H / Hkv, R = G * Sq, RG = (R + RMAX - 1) / RMAX;
  const i64 b = blockIdx.z, hk = blockIdx.y / RG, r0 = (blockIdx.y % RG) * RMAX;
  const i64 split = blockIdx.x, NP = (i64)gridDim.x * NWD;
  const int nr = (int)(R - r0 < RMAX ? R - r0 : RMAX);
  i64 ctx = 0, c0, c1;
  if (PAGED) {
    ctx = lens[b];
    ctx = ctx < 0 ? 0 : (ctx > mb * bs ? mb * bs : ctx);
    c0 = split * chunk;
    c1 = c0 + chunk < ctx ? c0 + chunk : ctx;
  } else {
    c0 = jlo + split * chunk;
    c1 = c0 + chunk < jhi ? c0 + chunk : jhi;
  }
  const float sl2 = (float)scale * LOG2E_F;
  float qr[RMAX][E], acc[RMAX][E], m[RMAX], l[RMAX], sa[RMAX];  // sa: ALiBi slope * log2 e of the row
  i64 lim[RMAX];
#pragma unroll
  for (int r = 0; r < RMAX; ++r) {
    m[r] = NEG_INF_F;
    l[r] = 0.f;
    lim[r] = -1;
    sa[r] = 0.f;
#pragma unroll
    for (int e = 0; e < E; ++e) qr[r][e] = acc[r][e] = 0.f;
    if (r < nr) {
      const i64 rr = r0 + r, h = hk * G + rr / Sq, qi = rr % Sq;
      LR::load(q + b * qb + h * qh + qi * qs, lane, qr[r], vec != 0);
#pragma unroll
      for (int e = 0; e < E; ++e) qr[r][e] *= sl2;
      lim[r] = PAGED ? (causal ? ctx - Sq + qi : ctx - 1) : jhi - 1;  // last visible key
      if constexpr (ALIBI) sa[r] = slopes[h] * LOG2E_F;
    }
  }
  for (i64 jb = c0 + warp * KU; jb < c1; jb += NWD * KU) {
    float kk[KU][E], vv[KU][E];
#pragma unroll
    for (int u = 0; u < KU; ++u) {
      const i64 j = jb + u;
      if (j < c1) {
        const ${T}* kr;
        const ${T}* vr;
        if (PAGED) {
          i64 blk = table[b * mb + j / bs];
          blk = blk < 0 ? 0 : (blk >= nblk ? nblk - 1 : blk);
          const i64 off = ((blk * bs + j % bs) * Hkv + hk) * D;
          kr = k + off;
          vr = v + off;
        } else {
          kr = k + b * kb + hk * kh + j * ks;
          vr = v + b * kb + hk * kh + j * ks;
        }
        LR::load(kr, lane, kk[u], vec != 0);
        LR::load(vr, lane, vv[u], vec != 0);
      } else {
#pragma unroll
        for (int e = 0; e < E; ++e) kk[u][e] = vv[u][e] = 0.f;
      }
    }
    const float dist = ALIBI ? (float)(pos - jb) : 0.f;  // |pos - (jb + u)| = |dist - u|, exact below 2^24
#pragma unroll
    for (int r = 0; r < RMAX; ++r) {
      if (r >= nr) break;
      float x[KU];
#pragma unroll
      for (int u = 0; u < KU; ++u) {
        float s = 0.f;
#pragma unroll
        for (int e = 0; e < E; ++e) s = fmaf(qr[r][e], kk[u][e], s);
        s = warp_sum(s);
        if constexpr (ALIBI) s -= sa[r] * fabsf(dist - (float)u);
        x[u] = (jb + u < c1 && jb + u <= lim[r]) ? s : NEG_INF_F;
      }
      float mx = x[0];
#pragma unroll
      for (int u = 1; u < KU; ++u) mx = fmaxf(mx, x[u]);
      const float mn = fmaxf(m[r], mx), ms = safe_max(mn), alpha = exp2f(m[r] - ms);
      m[r] = mn;
      float ps = 0.f;
#pragma unroll
      for (int e = 0; e < E; ++e) acc[r][e] *= alpha;
#pragma unroll
      for (int u = 0; u < KU; ++u) {
        const float p = exp2f(x[u] - ms);
        ps += p;
#pragma unroll
        for (int e = 0; e < E; ++e) acc[r][e] = fmaf(p, vv[u][e], acc[r][e]);
      }
      l[r] = l[r] * alpha + ps;
    }
  }
  const i64 slot = split * NWD + warp;
#pragma unroll
  for (int r = 0; r < RMAX; ++r) {
    if (r >= nr) break;
    const i64 rr = r0 + r, h = hk * G + rr / Sq, qi = rr % Sq;
    const i64 row = (b * H + h) * Sq + qi;
    if (lane == 0) {
      pm[row * NP + slot] = m[r];
      pl[row * NP + slot] = l[r];
    }
    float* pa = pacc + (row * NP + slot) * D;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int d = LR::dim(lane, e);
      if (d < D) pa[d] = acc[r][e];
    }
  }
}

#define DECODE_ENTRIES(DIM)                                                                                      \
  extern "C" __global__ void __launch_bounds__(NWD * 32) flash_decode##DIM##_${N}(                               \
      float* pm, float* pl, float* pacc, const ${T}* q, const ${T}* k, const ${T}* v, i64 H, i64 Hkv, i64 qb,    \
      i64 qh, i64 kb, i64 kh, i64 ks, i64 jlo, i64 jhi, i64 chunk, double scale, i64 vec) {                      \
    decode_body<DIM, false, false>(pm, pl, pacc, q, k, v, nullptr, nullptr, H, Hkv, 1, qb, qh, 0, kb, kh, ks, jlo, \
                                   jhi, chunk, 1, 1, 1, 0, scale, vec, nullptr, 0);                              \
  }                                                                                                              \
  extern "C" __global__ void __launch_bounds__(NWD * 32) paged_decode##DIM##_${N}(                               \
      float* pm, float* pl, float* pacc, const ${T}* q, const ${T}* k, const ${T}* v, const i64* table,          \
      const i64* lens, i64 H, i64 Hkv, i64 Sq, i64 qb, i64 qh, i64 qs, i64 chunk, i64 nblk, i64 bs, i64 mb,      \
      i64 causal, double scale, i64 vec) {                                                                       \
    decode_body<DIM, true, false>(pm, pl, pacc, q, k, v, table, lens, H, Hkv, Sq, qb, qh, qs, 0, 0, 0, 0, 0,      \
                                  chunk, nblk, bs, mb, causal, scale, vec, nullptr, 0);                          \
  }
#define ALIBI_DECODE_ENTRIES(DIM)                                                                                \
  extern "C" __global__ void __launch_bounds__(NWD * 32) alibi_decode##DIM##_${N}(                               \
      float* pm, float* pl, float* pacc, const ${T}* q, const ${T}* k, const ${T}* v, i64 H, i64 Hkv, i64 qb,    \
      i64 qh, i64 kb, i64 kh, i64 ks, i64 jlo, i64 jhi, i64 chunk, double scale, i64 vec, const float* slopes,   \
      i64 pos) {                                                                                                 \
    decode_body<DIM, false, true>(pm, pl, pacc, q, k, v, nullptr, nullptr, H, Hkv, 1, qb, qh, 0, kb, kh, ks, jlo,  \
                                  jhi, chunk, 1, 1, 1, 0, scale, vec, slopes, pos);                              \
  }
#define DECODE_DIMS(X) X(32) X(64) X(80) X(96) X(128) X(256)
#ifndef DECODE_SET
#define DECODE_SET 0
#endif
#if DECODE_SET == 1
DECODE_DIMS(ALIBI_DECODE_ENTRIES)
#else
DECODE_DIMS(DECODE_ENTRIES)

// One CTA of CB threads per row: out[row] = combine of its NP partials (see the header); lse may be null.
// M and l by block reductions, the weights 2^(m_s - M) staged in shared memory CB at a time, then each
// thread sums its dims d = tid + CB e (D <= 2 CB) over the partials in order.
#define CB 128
extern "C" __global__ void __launch_bounds__(CB)
    flash_decode_combine_${N}(${T}* __restrict__ out, float* __restrict__ lse, const float* __restrict__ pm,
                              const float* __restrict__ pl, const float* __restrict__ pacc, i64 NP, i64 D) {
  __shared__ float red[CB / 32], w[CB];
  const i64 row = blockIdx.x;
  const int tid = threadIdx.x, lane = tid & 31, wid = tid >> 5;
  const float* m = pm + row * NP;
  const float* l = pl + row * NP;
  float M = NEG_INF_F;
  for (i64 s = tid; s < NP; s += CB) M = fmaxf(M, m[s]);
  M = warp_max(M);
  if (lane == 0) red[wid] = M;
  __syncthreads();
  M = red[0];
#pragma unroll
  for (int i = 1; i < CB / 32; ++i) M = fmaxf(M, red[i]);
  const float Ms = safe_max(M);
  __syncthreads();
  float tot = 0.f;
  for (i64 s = tid; s < NP; s += CB) tot += l[s] * exp2f(m[s] - Ms);
  tot = warp_sum(tot);
  if (lane == 0) red[wid] = tot;
  __syncthreads();
  tot = 0.f;
#pragma unroll
  for (int i = 0; i < CB / 32; ++i) tot += red[i];
  const float inv = tot > 0.f ? 1.f / tot : 0.f;
  float o[2] = {0.f, 0.f};
  for (i64 s0 = 0; s0 < NP; s0 += CB) {
    __syncthreads();
    if (s0 + tid < NP) w[tid] = exp2f(m[s0 + tid] - Ms);
    __syncthreads();
    const int ns = (int)(NP - s0 < CB ? NP - s0 : CB);
    const float* pa = pacc + (row * NP + s0) * D;
#pragma unroll 4
    for (int u = 0; u < ns; ++u) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const i64 d = tid + CB * e;
        if (d < D) o[e] = fmaf(pa[u * D + d], w[u], o[e]);
      }
    }
  }
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    const i64 d = tid + CB * e;
    if (d < D) out[row * D + d] = put<${T}>(o[e] * inv);
  }
  if (lse != nullptr && tid == 0) lse[row] = tot > 0.f ? (Ms + log2f(tot)) * LN2_F : NEG_INF_F;
}
#endif  // DECODE_SET
