// Flash decoding on tensor cores (f16 / bf16, every head dim): split-K partials for contiguous and paged
// KV caches, merged by flash_decode_combine (flash_decode.cu).
//
// Formula: the keys of a (batch, KV head) are cut into chunks, one CTA per chunk; the CTA writes the
// online-softmax partial (m, l, acc) of each of its query rows in log2 units (s = q.k * scale * log2 e):
// l = sum_j 2^(s_j - m), acc = sum_j 2^(s_j - m) v_j; the combine computes M = max m_c,
// out = sum acc_c 2^(m_c - M) / sum l_c 2^(m_c - M) and lse = ln2 (M + log2 l). The reference m of a
// row only moves when a tile's max exceeds it by more than RTH = 8 (so p <= 2^8; lazy rescaling as in
// FlashAttention-4): any m is exact once every partial is taken relative to its own m.
// Layout: q [B, H, Sq, D] (element strides per b/h/s, d contiguous); the G * Sq rows of a KV head are
// numbered r = (h - hk G) Sq + i as in q's flat [B, H, Sq] index. Contiguous: k/v [B, Hkv, Sk, D]
// (shared strides per b/h/s), keys [jlo, jhi) of the one query (Sq == 1). Paged: k/v_blocks
// [N, bs, Hkv, D] contiguous, key t of sequence b at row clamp(table[b, t / bs]) * bs + t % bs,
// ctx_b = clamp(context_lens[b], 0, mb bs); query i sees t < ctx_b and, when causal, t <= ctx_b - Sq + i.
// All rows 16-byte aligned (the host copies otherwise). Partials pm, pl [rows, NP], pacc [rows, NP, D]
// f32 with NP = splits (gridDim.y).
// Work split: grid (Hkv * row groups, splits, B) (the KV heads of a split run side by side: a paged block
// is read by all of them at about the same time), 4 warps. A CTA serves up to MR = 16 rows of one KV
// head (one m16 tile: K/V are read once per query group) over its chunk [c0, c1); warp w takes the
// 16-key tiles w, w + 4, ...  and the 4 warp partials are merged in shared memory at the end.
// Per tile, S[16 x 16] = Q K^T and O += P V run on mma.sync m16n8k16 (f32 accumulators) with the K and V
// fragments loaded straight from global memory into registers, 16 bytes per load, no shared staging:
// - Q K^T: the k (= d) order is permuted so that lane (g, t) (g = lane / 4, t = lane % 4) loads whole
//   spans of key row g: span i holds dims i 4 SK + t SK + [0, SK), and its 32-bit words are, in order,
//   the (b0, b1) registers of consecutive k-steps; the Q A fragments (kept in shared memory, fragment
//   order) use the same permutation, so the dot products are unchanged.
// - P V: P is re-packed from the S accumulators (FA2); lane (g, t) loads keys 2t, 2t+1, 2t+8, 2t+9 at dims
//   dcol(j, g) = (j / SV) 8 SV + g SV + j % SV (SV-element spans) and forms b0 / b1 of n-tile j with one
//   byte_perm each; accumulator column n of n-tile j is dim dcol(j, n).
// Paged: with bs % 16 == 0 (chunks and tiles start at multiples of 16) a tile is 16 consecutive rows of
// one block: lane l holds the first row of the warp's l-th next tile (one table read per 32 tiles); other
// block sizes look up the 16 rows of the next tile one per lane while the current tile's loads fly, and
// hand them out by shuffles. Key indices are divided in 32 bits (the host asks max_blocks * bs < 2^31).
// One body serves two entry sets (DECODE_SET, set by the including file): 0 dense contiguous + paged (this
// file), 1 contiguous + ALiBi (alibi_decode_tc.cu: the score of key j in head h gets
// -slope_h * |pos - j| with pos = L - 1, added in log2 units before the mask; slopes [H] f32). The ALiBi
// code is behind a template flag and compiles away in the dense entries.
// Reference: Dao et al., "Flash-Decoding for long-context inference" (2023); Kwon et al., vLLM
// PagedAttention (SOSP 2023); Dao, "FlashAttention-2" (2023); the conditional rescale of FlashAttention-4
// (Dao et al., 2025); PTX ISA "Matrix Fragments for mma.m16n8k16"; Press et al., "ALiBi" (2022).
#include "mma_tc.cuh"

// mma16816, pack2 and IS_BF16 come from mma_tc.cuh (shared with flash_fwd_tc.cu and flash_bwd_tc.cu)
#define NWD 4      // warps per CTA
#define TK 16      // keys per warp tile
#define MR 16      // query rows per CTA
#define RTH 8.f    // lazy-rescale threshold (log2 units)
#define FULL 0xffffffffu

typedef unsigned short h16;

// N consecutive halves at p (2N bytes, aligned) into N / 2 words; read-only streaming load.
template <int N> __device__ __forceinline__ void ld_span(u32* w, const h16* p) {
  if constexpr (N == 8) {
    const uint4 u = __ldg(reinterpret_cast<const uint4*>(p));
    w[0] = u.x, w[1] = u.y, w[2] = u.z, w[3] = u.w;
  } else if constexpr (N == 4) {
    const uint2 u = __ldg(reinterpret_cast<const uint2*>(p));
    w[0] = u.x, w[1] = u.y;
  } else {
    w[0] = __ldg(reinterpret_cast<const unsigned int*>(p));
  }
}

template <int D> struct DecTc {
  static constexpr int KS = D / 16;                     // k-steps of Q K^T
  static constexpr int NT = D / 8;                      // n-tiles of P V
  static constexpr int SK = D % 32 == 0 ? 8 : 4;        // K span (halves per load)
  static constexpr int LK = D / (4 * SK);               // K spans per key and lane
  static constexpr int SV = NT % 8 == 0 ? 8 : (NT % 4 == 0 ? 4 : 2);  // V span
  static constexpr int LV = NT / SV;                    // V spans per key and lane
  static constexpr int LDO = D + 4;                     // merge buffer row stride (floats)
  static constexpr bool EARLY_V = D <= 128;             // V loads issued with K's (registers allow)
  static __device__ __forceinline__ int dcol(int j, int n) { return (j / SV) * 8 * SV + n * SV + j % SV; }
};

// Row of key j (clamped to jmax) in the paged pool: clamp(table row[j / bs]) * bs + j % bs (32-bit
// division: the host sends only tables with max_blocks * bs < 2^31).
__device__ __forceinline__ i64 paged_row(const i64* __restrict__ trow, i64 j, i64 jmax, u32 bs, i64 nblk) {
  const u32 uj = (u32)(j < jmax ? j : jmax), bi = uj / bs;
  i64 blk = trow[bi];
  blk = blk < 0 ? 0 : (blk >= nblk ? nblk - 1 : blk);
  return blk * bs + (uj - bi * bs);
}

// ALIBI (contiguous only, Sq == 1): slopes [H] f32, pos = the query's position (L - 1).
template <int D, bool PAGED, bool ALIBI>
__device__ __forceinline__ void decode_tc(float* __restrict__ pm, float* __restrict__ pl, float* __restrict__ pacc,
                                          const h16* __restrict__ q, const h16* __restrict__ k,
                                          const h16* __restrict__ v, const i64* __restrict__ table,
                                          const i64* __restrict__ lens, i64 H, i64 Hkv, i64 Sq, i64 qb, i64 qh,
                                          i64 qs, i64 kb, i64 kh, i64 ks, i64 jlo, i64 jhi, i64 chunk, i64 nblk,
                                          i64 bs, i64 mb, i64 causal, double scale,
                                          const float* __restrict__ slopes, i64 pos) {
  static_assert(!(PAGED && ALIBI), "ALiBi decode: contiguous caches only");
  typedef DecTc<D> C;
  extern __shared__ __align__(16) unsigned char dsm[];
  uint4* sq = reinterpret_cast<uint4*>(dsm);  // [KS][32] Q A fragments
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const i64 G = H / Hkv, R = G * Sq, RG = (R + MR - 1) / MR, RS = R < MR ? R : MR;
  const i64 b = blockIdx.z, hk = blockIdx.x / RG, r0 = (blockIdx.x % RG) * MR;
  const int nr = (int)(R - r0 < MR ? R - r0 : MR);
  const i64 split = blockIdx.y, NP = gridDim.y;
  i64 ctx = 0, c0, c1, rs;
  const h16 *kp, *vp;
  if (PAGED) {
    ctx = lens[b];
    ctx = ctx < 0 ? 0 : (ctx > mb * bs ? mb * bs : ctx);
    c0 = split * chunk;
    c1 = c0 + chunk < ctx ? c0 + chunk : ctx;
    rs = Hkv * D;
    kp = k + hk * D;
    vp = v + hk * D;
  } else {
    c0 = jlo + split * chunk;
    c1 = c0 + chunk < jhi ? c0 + chunk : jhi;
    rs = ks;
    kp = k + b * kb + hk * kh;
    vp = v + b * kb + hk * kh;
  }
  // last visible key of row r; cend: keys below it are visible to every row of the CTA
  const int nsq = (int)Sq;
  auto lim_of = [&](int r) -> i64 {
    const int qi = (int)(r0 + r) % nsq;
    return PAGED ? (causal ? ctx - Sq + qi : ctx - 1) : jhi - 1;
  };
  i64 cend = c1;
  for (int r = 0; r < nr; ++r) {
    const i64 e = lim_of(r) + 1;
    cend = e < cend ? e : cend;
  }
  const i64 lim0 = g < nr ? lim_of(g) : -1, lim1 = g + 8 < nr ? lim_of(g + 8) : -1;
  // ALiBi slopes of rows g / g + 8 in log2 units (rows past nr: 0, their scores are never written)
  float sa0 = 0.f, sa1 = 0.f;
  if constexpr (ALIBI) {
    if (g < nr) sa0 = slopes[hk * G + (r0 + g) / nsq] * LOG2E_F;
    if (g + 8 < nr) sa1 = slopes[hk * G + (r0 + g + 8) / nsq] * LOG2E_F;
  }

  // Q A fragments (rows g and g + 8, permuted k order) into shared memory, fragment order
  for (int i = warp; i < C::LK; i += NWD) {
    u32 w[2][C::SK / 2];
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int r = g + 8 * hh;
      if (r < nr) {
        const int rr = (int)r0 + r;
        const i64 h = hk * G + rr / nsq, qi = rr % nsq;
        ld_span<C::SK>(w[hh], q + b * qb + h * qh + qi * qs + i * 4 * C::SK + t * C::SK);
      } else {
#pragma unroll
        for (int u = 0; u < C::SK / 2; ++u) w[hh][u] = 0u;
      }
    }
#pragma unroll
    for (int u = 0; u < C::SK / 4; ++u)
      sq[(i * (C::SK / 4) + u) * 32 + lane] = make_uint4(w[0][2 * u], w[1][2 * u], w[0][2 * u + 1], w[1][2 * u + 1]);
  }
  __syncthreads();

  float o[C::NT][4];
#pragma unroll
  for (int j = 0; j < C::NT; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
  float m0 = NEG_INF_F, m1 = NEG_INF_F, l0 = 0.f, l1 = 0.f;
  const float sl2 = (float)scale * LOG2E_F;
  const i64 ntile = c1 > c0 ? (c1 - c0 + TK - 1) / TK : 0;
  const i64* trow = PAGED ? table + b * mb : nullptr;
  const u32 ubs = (u32)bs;
  // Paged rows. bs % TK == 0: a tile is rows rid + [0, TK) of one block; lane l holds rid of the warp's
  // tile it0 + l, refilled every 32 tiles (no table read on the per-tile critical path). Otherwise lane l
  // holds the row of key tb + (l & 15) of the next tile, read while the current tile's loads fly.
  const bool whole = bs % TK == 0;
  i64 rid = 0;
  if (PAGED && warp < ntile)
    rid = whole ? paged_row(trow, c0 + (warp + (i64)lane * NWD) * TK, c1 - 1, ubs, nblk)
                : paged_row(trow, c0 + warp * TK + (lane & 15), c1 - 1, ubs, nblk);

  i64 it = 0;
  for (i64 tt = warp; tt < ntile; tt += NWD, ++it) {
    const i64 tb = c0 + tt * TK;
    i64 ok[2], ov[4];  // element offsets of this lane's K keys (g, 8 + g) and V keys (2t, 2t+1, 2t+8, 2t+9)
    if (PAGED && whole) {
      const int sl = (int)(it & 31);
      if (sl == 0 && it > 0) rid = paged_row(trow, c0 + (tt + (i64)lane * NWD) * TK, c1 - 1, ubs, nblk);
      const i64 r0k = __shfl_sync(FULL, rid, sl), last = c1 - 1 - tb;
#pragma unroll
      for (int nb = 0; nb < 2; ++nb) ok[nb] = (r0k + (nb * 8 + g < last ? nb * 8 + g : last)) * rs;
#pragma unroll
      for (int kq = 0; kq < 4; ++kq) {
        const int kk = (kq >> 1) * 8 + 2 * t + (kq & 1);
        ov[kq] = (r0k + (kk < last ? kk : last)) * rs;
      }
    } else if (PAGED) {
#pragma unroll
      for (int nb = 0; nb < 2; ++nb) ok[nb] = __shfl_sync(FULL, rid, nb * 8 + g) * rs;
#pragma unroll
      for (int kq = 0; kq < 4; ++kq) ov[kq] = __shfl_sync(FULL, rid, (kq >> 1) * 8 + 2 * t + (kq & 1)) * rs;
      if (tt + NWD < ntile) rid = paged_row(trow, tb + NWD * TK + (lane & 15), c1 - 1, ubs, nblk);
    } else {
#pragma unroll
      for (int nb = 0; nb < 2; ++nb) {
        const i64 j = tb + nb * 8 + g;
        ok[nb] = (j < c1 ? j : c1 - 1) * rs;
      }
#pragma unroll
      for (int kq = 0; kq < 4; ++kq) {
        const i64 j = tb + (kq >> 1) * 8 + 2 * t + (kq & 1);
        ov[kq] = (j < c1 ? j : c1 - 1) * rs;
      }
    }
    u32 kw[2][D / 8], vw[4][C::NT / 2];
#pragma unroll
    for (int nb = 0; nb < 2; ++nb)
#pragma unroll
      for (int i = 0; i < C::LK; ++i) ld_span<C::SK>(&kw[nb][i * C::SK / 2], kp + ok[nb] + i * 4 * C::SK + t * C::SK);
    auto load_v = [&]() {
#pragma unroll
      for (int kq = 0; kq < 4; ++kq)
#pragma unroll
        for (int i = 0; i < C::LV; ++i) ld_span<C::SV>(&vw[kq][i * C::SV / 2], vp + ov[kq] + i * 8 * C::SV + g * C::SV);
    };
    if constexpr (C::EARLY_V) load_v();

    // S = Q K^T (rows g / g + 8, keys nb * 8 + 2t, 2t + 1)
    float s[2][4];
#pragma unroll
    for (int nb = 0; nb < 2; ++nb) s[nb][0] = s[nb][1] = s[nb][2] = s[nb][3] = 0.f;
#pragma unroll
    for (int st = 0; st < C::KS; ++st) {
      const uint4 a4 = sq[st * 32 + lane];
      const u32 a[4] = {a4.x, a4.y, a4.z, a4.w};
      mma16816(s[0], a, kw[0][2 * st], kw[0][2 * st + 1]);
      mma16816(s[1], a, kw[1][2 * st], kw[1][2 * st + 1]);
    }
    if constexpr (!C::EARLY_V) load_v();

    // online softmax in log2 units (ALiBi: minus slope * |pos - j|, the distance of key tb + 2t exact in
    // f32 below 2^24); masking only on tiles that reach past cend
    const bool need = tb + TK > cend;
    const float dist = ALIBI ? (float)(pos - tb - 2 * t) : 0.f;
    float mx0 = NEG_INF_F, mx1 = NEG_INF_F;
#pragma unroll
    for (int nb = 0; nb < 2; ++nb) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float x = s[nb][e] * sl2;
        if constexpr (ALIBI) x -= (e < 2 ? sa0 : sa1) * fabsf(dist - (float)(nb * 8 + (e & 1)));
        if (need) {
          const i64 j = tb + nb * 8 + 2 * t + (e & 1);
          if (j >= c1 || j > (e < 2 ? lim0 : lim1)) x = NEG_INF_F;
        }
        s[nb][e] = x;
      }
      mx0 = fmaxf(mx0, fmaxf(s[nb][0], s[nb][1]));
      mx1 = fmaxf(mx1, fmaxf(s[nb][2], s[nb][3]));
    }
    mx0 = fmaxf(mx0, __shfl_xor_sync(FULL, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(FULL, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(FULL, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(FULL, mx1, 2));
    if (mx0 > m0 + RTH || mx1 > m1 + RTH) {  // rare after the first tiles
      float a0 = 1.f, a1 = 1.f;
      if (mx0 > m0 + RTH) {
        a0 = exp2f(m0 - mx0);
        m0 = mx0;
      }
      if (mx1 > m1 + RTH) {
        a1 = exp2f(m1 - mx1);
        m1 = mx1;
      }
      l0 *= a0;
      l1 *= a1;
#pragma unroll
      for (int j = 0; j < C::NT; ++j) {
        o[j][0] *= a0;
        o[j][1] *= a0;
        o[j][2] *= a1;
        o[j][3] *= a1;
      }
    }
    const float b0 = safe_max(m0), b1 = safe_max(m1);
#pragma unroll
    for (int nb = 0; nb < 2; ++nb) {
      s[nb][0] = exp2f(s[nb][0] - b0);
      s[nb][1] = exp2f(s[nb][1] - b0);
      s[nb][2] = exp2f(s[nb][2] - b1);
      s[nb][3] = exp2f(s[nb][3] - b1);
      l0 += s[nb][0] + s[nb][1];
      l1 += s[nb][2] + s[nb][3];
    }

    // O += P V: P (16 rows x 16 keys) is the A operand; V pairs of keys per b register
    const u32 pa[4] = {pack2(s[0][0], s[0][1]), pack2(s[0][2], s[0][3]), pack2(s[1][0], s[1][1]),
                       pack2(s[1][2], s[1][3])};
#pragma unroll
    for (int j = 0; j < C::NT; ++j) {
      const u32 sel = (j & 1) ? 0x7632u : 0x5410u;
      const int w = j >> 1;
      mma16816(o[j], pa, __byte_perm(vw[0][w], vw[1][w], sel), __byte_perm(vw[2][w], vw[3][w], sel));
    }
  }

  // merge the 4 warp partials of each row through shared memory, then write the CTA's partial
  l0 += __shfl_xor_sync(FULL, l0, 1);
  l0 += __shfl_xor_sync(FULL, l0, 2);
  l1 += __shfl_xor_sync(FULL, l1, 1);
  l1 += __shfl_xor_sync(FULL, l1, 2);
  float* so = reinterpret_cast<float*>(dsm + C::KS * 32 * sizeof(uint4));  // [NWD][RS][LDO]
  float* smm = so + NWD * RS * C::LDO;                                      // [NWD][MR]
  float* sml = smm + NWD * MR;                                              // [NWD][MR]
  if (t == 0) {
    smm[warp * MR + g] = m0;
    smm[warp * MR + g + 8] = m1;
    sml[warp * MR + g] = l0;
    sml[warp * MR + g + 8] = l1;
  }
#pragma unroll
  for (int j = 0; j < C::NT; ++j) {
    const int d0 = C::dcol(j, 2 * t), d1 = C::dcol(j, 2 * t + 1);
    if (g < nr) {
      so[(warp * RS + g) * C::LDO + d0] = o[j][0];
      so[(warp * RS + g) * C::LDO + d1] = o[j][1];
    }
    if (g + 8 < nr) {
      so[(warp * RS + g + 8) * C::LDO + d0] = o[j][2];
      so[(warp * RS + g + 8) * C::LDO + d1] = o[j][3];
    }
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < nr * D; idx += NWD * 32) {
    const int r = idx / D, d = idx % D;
    float M = NEG_INF_F;
#pragma unroll
    for (int w = 0; w < NWD; ++w) M = fmaxf(M, smm[w * MR + r]);
    const float Ms = safe_max(M);
    float acc = 0.f, l = 0.f;
#pragma unroll
    for (int w = 0; w < NWD; ++w) {
      const float f = exp2f(smm[w * MR + r] - Ms);
      acc = fmaf(so[(w * RS + r) * C::LDO + d], f, acc);
      l = fmaf(sml[w * MR + r], f, l);
    }
    const int rr = (int)r0 + r;
    const i64 row = (b * H + hk * G + rr / nsq) * Sq + rr % nsq;
    pacc[(row * NP + split) * D + d] = acc;
    if (d == 0) {
      pm[row * NP + split] = M;
      pl[row * NP + split] = l;
    }
  }
}

#define MINB(DIM) ((DIM) <= 128 ? 3 : 1)  // 3 CTAs per SM up to D = 128 (<= 168 registers)
#define DECODE_TC_ENTRIES(DIM)                                                                                    \
  extern "C" __global__ void __launch_bounds__(NWD * 32, MINB(DIM)) flash_decode_tc##DIM##_${N}(                           \
      float* pm, float* pl, float* pacc, const h16* q, const h16* k, const h16* v, i64 H, i64 Hkv, i64 qb, i64 qh, \
      i64 kb, i64 kh, i64 ks, i64 jlo, i64 jhi, i64 chunk, double scale) {                                        \
    decode_tc<DIM, false, false>(pm, pl, pacc, q, k, v, nullptr, nullptr, H, Hkv, 1, qb, qh, 0, kb, kh, ks, jlo,  \
                                 jhi, chunk, 1, 1, 1, 0, scale, nullptr, 0);                                      \
  }                                                                                                               \
  extern "C" __global__ void __launch_bounds__(NWD * 32, MINB(DIM)) paged_decode_tc##DIM##_${N}(                           \
      float* pm, float* pl, float* pacc, const h16* q, const h16* k, const h16* v, const i64* table,              \
      const i64* lens, i64 H, i64 Hkv, i64 Sq, i64 qb, i64 qh, i64 qs, i64 chunk, i64 nblk, i64 bs, i64 mb,       \
      i64 causal, double scale) {                                                                                 \
    decode_tc<DIM, true, false>(pm, pl, pacc, q, k, v, table, lens, H, Hkv, Sq, qb, qh, qs, 0, 0, 0, 0, 0, chunk,  \
                                nblk, bs, mb, causal, scale, nullptr, 0);                                         \
  }
#define ALIBI_DECODE_TC_ENTRIES(DIM)                                                                              \
  extern "C" __global__ void __launch_bounds__(NWD * 32, MINB(DIM)) alibi_decode_tc##DIM##_${N}(                  \
      float* pm, float* pl, float* pacc, const h16* q, const h16* k, const h16* v, i64 H, i64 Hkv, i64 qb, i64 qh, \
      i64 kb, i64 kh, i64 ks, i64 jlo, i64 jhi, i64 chunk, double scale, const float* slopes, i64 pos) {          \
    decode_tc<DIM, false, true>(pm, pl, pacc, q, k, v, nullptr, nullptr, H, Hkv, 1, qb, qh, 0, kb, kh, ks, jlo,   \
                                jhi, chunk, 1, 1, 1, 0, scale, slopes, pos);                                      \
  }
#define DECODE_TC_DIMS(X) X(32) X(64) X(80) X(96) X(128) X(256)
#ifndef DECODE_SET
#define DECODE_SET 0
#endif
#if DECODE_SET == 0
DECODE_TC_DIMS(DECODE_TC_ENTRIES)
#else
DECODE_TC_DIMS(ALIBI_DECODE_TC_ENTRIES)
#endif
