// Fast quantized GEMV: wide aligned block loads, exact integer -> float decoding, x in shared memory.
//
// Formula: out[m, n] = sum_g scale_g(n) * (sum_{k in g} q[n, k] * x[m, k]) - min_g(n) * (sum_{k in g} x[m, k])
// over the scale groups g of row n (16 or 32 weights; min_g = 0 for formats without mins), f32 FMAs;
// swiglu entries (NW = 2 weight matrices): out = silu(gate) * up = g / (1 + exp(-g)) * u, f32.
// Decoding, two kinds of unit (gemv_units.cuh / gemv_kunits.cuh):
// - packed (U::QSH >= 0; the <= 6-bit formats): the unit gives bytes v = q_raw << QSH (< 128), and one
//   PRMT a weight makes the exact float q' = __uint_as_float(0x40000000 | v << 16) = 2 + q_raw 2^(QSH - 6).
//   A group then sums S' = sum q' x, and with Sx = sum x (precomputed per CTA chunk in shared memory):
//   sum_g (scale q - min) x = (scale 2^(6 - QSH)) S' - (scale (2^(7 - QSH) + QOFF) + min) Sx
//   (q = q_raw - QOFF): one PRMT + one FMA a weight, the offsets and mins one FMA a group.
// - exact (QSH < 0: Q8_0 and the table formats): q made exactly in f32 with the magic-number trick:
//   byte b -> __uint_as_float(0x4B000000 | b) = 2^23 + b, minus (2^23 + OFF) = b - OFF (one FADD).
// Either way activations stay f32 (no activation quantization, no f16 math): the only roundings are
// those of f32 FMAs and sums (reassociated by the offset/min folding, a few ulps of a group sum).
// Layout: x [M, K] f32 (rows 16-byte aligned), raw (and raw2, the up weights) [N, K / BE * BB] bytes,
//   out [M, N] f32. CTA = blockDim.x / 32 warps (1 .. GV_MAXW, a launch choice); warp w takes the R
//   weight rows n0 .. n0 + R - 1 of each matrix (n0 = (blockIdx.x * warps + w) * R; rows past N re-read
//   row N - 1 and are not written). A row is split into "units" of U::UW weights (a block, or a fixed
//   share of a K-quant super-block); lane l takes units l, l + 32, ... so a warp reads a contiguous run
//   of blocks per step, and decodes its unit of all rows against the same x. GV_PF units a lane are in
//   flight (1: the next unit is loaded when the current one is done; 2: one step ahead).
//   K split: blockIdx.y of gridDim.y takes weights [y KS, (y + 1) KS) (KS a multiple of 256, or K); with
//   gridDim.y > 1 each CTA writes its per-row sums to part [S][NW][M][N] and the last CTA of the row group
//   (atomic counter cnt[blockIdx.x], reset to 0 by it) adds the S partials in order s = 0 .. S - 1
//   (deterministic) and writes out.
//   x is staged per K chunk (KC floats a row, a multiple of 256, or all of K) in dynamic shared memory
//   [MB][KC / 4] float4, float4 q of a chunk stored at q ^ swz(q) (the 8 lanes of a quarter warp read 8
//   different bank quads: conflict-free LDS.128), then the group sums xg [MB][UW / GW][KC / UW] floats
//   (group gi of chunk-local unit u at (m * (UW / GW) + gi) * (KC / UW) + u: conflict-free reads).
//   Dynamic shared memory: MB * KC * 4 * 17 / 16 bytes (x, and the sums of groups >= 16).
// Block bytes are loaded as aligned 32/64/128-bit words: 2-byte (1-byte for MXFP4) aligned fields
// through gv_ldu (aligned u64 loads, one word select and one funnel shift a word, as llama.cpp's
// get_int_b2 does with 16-bit halves), 4-, 8- and 16-byte aligned ones directly (the host checks the
// raw pointer's alignment, else it runs the generic gemv_<fmt>_m<MB> kernel).
// Reference: llama.cpp ggml-cuda/mmvq.cu + vecdotq.cuh (get_int_b2/b4, get_int_from_table_16, the
// K-quant scale unpacking), ggml-quants.c (kmask scale unpack); block layouts in legacy.cuh / kquants.cuh;
// CUDA samples threadFenceReduction (last-block reduction).
#ifndef BOOSTR_QUANT_GEMV_FAST_CUH
#define BOOSTR_QUANT_GEMV_FAST_CUH

#define GV_MAXW 8
#define GV_MAGIC 0x4B000000u
#ifndef GV_PF
#define GV_PF 1
#endif

__device__ __forceinline__ float gv_f16(u32 h) { return f16_to_f32((unsigned short)(h & 0xffffu)); }
__device__ __forceinline__ u32 gv_ld16(const u8* p) { return __ldg(reinterpret_cast<const unsigned short*>(p)); }
__device__ __forceinline__ u32 gv_ld32(const u8* p) { return __ldg(reinterpret_cast<const unsigned int*>(p)); }

// The 4 bytes of b (each q + OFF, 0..255) as the exact floats q[0..3].
template <int OFF>
__device__ __forceinline__ void gv_4f(u32 b, float* q) {
#pragma unroll
  for (int j = 0; j < 4; ++j) q[j] = __uint_as_float(__byte_perm(b, GV_MAGIC, 0x7440u | (u32)j)) - (8388608.0f + (float)OFF);
}

// Byte j of w (v < 128) as the exact float 2 + v / 64: bytes [0, 0, v, 0x40] (PRMT with 0x40000000).
__device__ __forceinline__ float gv_pk(u32 w, int j) { return __uint_as_float(__byte_perm(w, 0x40000000u, 0x7044u | ((u32)j << 8))); }

// Nibbles of word w (byte i = lo | hi << 4) as packed bytes nib << 3: the low nibbles (HI = 0) or high ones.
__device__ __forceinline__ u32 gv_nibp(u32 w, int hi) { return (hi ? (w >> 1) : (w << 3)) & 0x78787878u; }

// 16-entry int8 table lookup of the 8 nibbles of q4 (llama.cpp get_int_from_table_16): lo gets the
// table bytes of the low nibbles of q4's 4 bytes, hi those of the high nibbles. t = 16 table bytes.
__device__ __forceinline__ void gv_tab16(u32 q4, const u32* t, u32& lo, u32& hi) {
  const u32 sel = 0x32103210u | ((q4 & 0x88888888u) >> 1);
  u32 tmp[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const u32 s = q4 >> (16 * i);
    const u32 l = __byte_perm(t[0], t[1], s), h = __byte_perm(t[2], t[3], s);
    tmp[i] = __byte_perm(l, h, sel >> (16 * i));
  }
  lo = __byte_perm(tmp[0], tmp[1], 0x6420u);
  hi = __byte_perm(tmp[0], tmp[1], 0x7531u);
}

// Chunk c of a 32-nibble block of table levels (t: 16 bytes of int8 + 128): weights 8c .. 8c + 7 are the
// low (c < 2) or high nibbles of qs words 2 (c % 2), 2 (c % 2) + 1, as exact floats.
__device__ __forceinline__ void gv_tab8(const u32* qs, const u32* t, int c, float* q) {
  u32 lo0, hi0, lo1, hi1;
  gv_tab16(qs[2 * (c & 1)], t, lo0, hi0);
  gv_tab16(qs[2 * (c & 1) + 1], t, lo1, hi1);
  gv_4f<128>(c < 2 ? lo0 : hi0, q);
  gv_4f<128>(c < 2 ? lo1 : hi1, q + 4);
}

// N words of bytes [p, p + 4N), p aligned to A >= 4 bytes: 128-, 64- or 32-bit loads.
template <int N, int A>
__device__ __forceinline__ void gv_lda(const u8* p, u32* v) {
  if constexpr (A >= 16 && N % 4 == 0) {
#pragma unroll
    for (int i = 0; i < N / 4; ++i) {
      const uint4 t = __ldg(reinterpret_cast<const uint4*>(p) + i);
      v[4 * i] = t.x, v[4 * i + 1] = t.y, v[4 * i + 2] = t.z, v[4 * i + 3] = t.w;
    }
  } else if constexpr (A >= 8 && N % 2 == 0) {
#pragma unroll
    for (int i = 0; i < N / 2; ++i) {
      const uint2 t = __ldg(reinterpret_cast<const uint2*>(p) + i);
      v[2 * i] = t.x, v[2 * i + 1] = t.y;
    }
  } else {
    static_assert(A >= 4, "gv_lda needs 4-byte alignment");
#pragma unroll
    for (int i = 0; i < N; ++i) v[i] = gv_ld32(p + 4 * i);
  }
}

// N words of bytes [p, p + 4N) of which the first L exist (bytes past them are garbage), p aligned to
// A (1 or 2): the aligned u64 words holding bytes of [p, p + L) (never one outside it), then
// v[i] = funnel shift of the 2 words holding bytes p + 4i .. p + 4i + 3.
template <int N, int L, int A>
__device__ __forceinline__ void gv_ldu(const u8* p, u32* v) {
  constexpr int NW = (L + (8 - A) + 7) / 8;
  static_assert(N <= 2 * NW && 4 * N >= L && 4 * N < L + 4, "gv_ldu: bad sizes");
  const size_t ip = reinterpret_cast<size_t>(p);
  const uint2* a = reinterpret_cast<const uint2*>(ip & ~(size_t)7);
  const int o = (int)(ip & 7);
  u32 w[2 * NW + 2];
#pragma unroll
  for (int i = 0; i < NW; ++i) {
    uint2 t = make_uint2(0u, 0u);
    if (8 * i < L || 8 * i < o + L) t = __ldg(a + i);
    w[2 * i] = t.x, w[2 * i + 1] = t.y;
  }
  w[2 * NW] = 0u, w[2 * NW + 1] = 0u;
  const bool s4 = (o & 4) != 0;
  const u32 sh = 8u * (u32)(o & 3);
#pragma unroll
  for (int i = 0; i < N; ++i) v[i] = __funnelshift_r(s4 ? w[i + 1] : w[i], s4 ? w[i + 2] : w[i + 1], sh);
}

// Units whose groups need sum x (packed decoding, or mins).
template <class U>
struct GvSums {
  static constexpr bool value = U::QSH >= 0 || U::MINS;
};

// Exact floats q[0..7] of chunk c of a unit (packed: 2 + q_raw 2^(QSH - 6); exact: q).
template <class U>
__device__ __forceinline__ void gv_q8(const U& un, int c, float* q) {
  if constexpr (U::QSH >= 0) {
    u32 w0, w1;
    un.v8(c, w0, w1);
#pragma unroll
    for (int j = 0; j < 4; ++j) q[j] = gv_pk(w0, j), q[4 + j] = gv_pk(w1, j);
  } else {
    un.q8(c, q);
  }
}

// One unit step of a lane: chunks of 8 weights, x and its group sums xg from shared memory, RT rows
// (of one or two matrices) against the same x. u: the chunk-local unit, nuc = KC / UW.
template <class U, int MB, int RT>
__device__ __forceinline__ void gv_step(const U (&un)[RT], const float4* xs, const float* xg, int kc4, int nuc, int u,
                                        float (&acc)[RT][MB]) {
  constexpr int NC = U::UW / 8, CG = U::GW / 8, NG = U::UW / U::GW;
  static_assert(!(U::QSH < 0 && U::MINS), "exact units have no mins");
  const int kb4 = U::kbase(u) / 4, sw = u & 7;
  float gs[RT][MB];
#pragma unroll
  for (int c = 0; c < NC; ++c) {
    if (c % CG == 0) {
#pragma unroll
      for (int r = 0; r < RT; ++r)
#pragma unroll
        for (int m = 0; m < MB; ++m) gs[r][m] = 0.0f;
    }
    const int q = (kb4 + U::koff(c) / 4) ^ sw;  // even: its pair is q ^ 1
    float qv[RT][8];
#pragma unroll
    for (int r = 0; r < RT; ++r) gv_q8(un[r], c, qv[r]);
#pragma unroll
    for (int m = 0; m < MB; ++m) {
      const float4 a = xs[m * kc4 + q], b = xs[m * kc4 + (q ^ 1)];
#pragma unroll
      for (int r = 0; r < RT; ++r) {
        float s = gs[r][m];
        s = fmaf(qv[r][0], a.x, s), s = fmaf(qv[r][1], a.y, s), s = fmaf(qv[r][2], a.z, s), s = fmaf(qv[r][3], a.w, s);
        s = fmaf(qv[r][4], b.x, s), s = fmaf(qv[r][5], b.y, s), s = fmaf(qv[r][6], b.z, s), s = fmaf(qv[r][7], b.w, s);
        gs[r][m] = s;
      }
    }
    if (c % CG == CG - 1) {
      const int g = c / CG;
      if constexpr (GvSums<U>::value) {
        constexpr float SA = (float)(1 << (6 - (U::QSH < 0 ? 6 : U::QSH)));
        constexpr float SB = U::QSH < 0 ? 0.0f : (float)(1 << (7 - (U::QSH < 0 ? 7 : U::QSH))) + U::QOFF;
        float sx[MB];
#pragma unroll
        for (int m = 0; m < MB; ++m) sx[m] = xg[(m * NG + g) * nuc + u];
#pragma unroll
        for (int r = 0; r < RT; ++r) {
          const float sc = un[r].scale(g);
          const float a = sc * SA, b = fmaf(sc, SB, U::MINS ? un[r].minv(g) : 0.0f);
#pragma unroll
          for (int m = 0; m < MB; ++m) acc[r][m] = fmaf(-b, sx[m], fmaf(a, gs[r][m], acc[r][m]));
        }
      } else {
#pragma unroll
        for (int r = 0; r < RT; ++r) {
          const float sc = un[r].scale(g);
#pragma unroll
          for (int m = 0; m < MB; ++m) acc[r][m] = fmaf(sc, gs[r][m], acc[r][m]);
        }
      }
    }
  }
}

// Stage x rows [k0, k0 + 4 kn4) into xs (swizzled) and, for units that need them, the group sums into xg.
// Each thread issues GV_SB float4 loads before it stores any (its float4s i = b + j blockDim.x + lane,
// j < GV_SB, b the warp's base): the stride blockDim.x is a launch choice, so nvcc does not unroll a plain
// strided loop, and one L2 round trip per float4 made staging a 32 KiB chunk 8 L2 latencies long (7-12%
// of a 28672 x 8192 GEMV). b is warp-uniform, so the group-sum shuffles run on full warps; a group (GQ
// lanes, aligned) never straddles a row or the end, as kn4 % GQ == 0.
template <class U, int MB>
__device__ __forceinline__ void gv_stage(const float* __restrict__ x, float4* xs, float* xg, i64 M, i64 K, i64 k0, int kn4,
                                         int kc4, int nuc) {
  constexpr int GQ = U::GW / 4, NG = U::UW / U::GW;  // float4s a group (a power of 2), groups a unit
  constexpr int GV_SB = 4;                             // loads a thread in flight (8 spills at 4 rows a warp)
  const int tot = MB * kn4, bd = (int)blockDim.x, lane = threadIdx.x & 31;
  for (int b = (int)threadIdx.x - lane; b < tot; b += GV_SB * bd) {  // warp-uniform bound
    float4 v[GV_SB];
#pragma unroll
    for (int j = 0; j < GV_SB; ++j) {
      const int i = b + j * bd + lane, m = MB == 1 ? 0 : i / kn4;
      v[j] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (i < tot) v[j] = __ldg(reinterpret_cast<const float4*>(x + (m < M ? m : M - 1) * K + k0) + (i - m * kn4));
    }
#pragma unroll
    for (int j = 0; j < GV_SB; ++j) {
      const int i = b + j * bd + lane, m = MB == 1 ? 0 : i / kn4, q = i - m * kn4;
      const bool ok = i < tot;
      if (ok) xs[m * kc4 + (q ^ U::swz(q))] = v[j];
      if constexpr (GvSums<U>::value) {
        float s = (v[j].x + v[j].y) + (v[j].z + v[j].w);
#pragma unroll
        for (int o = 1; o < GQ; o <<= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (ok && (q & (GQ - 1)) == 0) xg[(m * NG + U::gin(4 * q)) * nuc + U::uin(4 * q)] = s;
      }
    }
  }
}

template <class U, int RT>
__device__ __forceinline__ void gv_load(U (&un)[RT], const u8* const (&rows)[RT], i64 gu) {
#pragma unroll
  for (int r = 0; r < RT; ++r) un[r].load(rows[r], gu);
}

// The value written for row r < R of a warp from the per-matrix sums (NW = 2: silu(gate) * up).
template <int NW>
__device__ __forceinline__ float gv_out(float g, float u) {
  if constexpr (NW == 2) return g / (1.0f + expf(-g)) * u;
  return g;
}

template <class U, int MB, int R, int NW>
__device__ __forceinline__ void gv_body(float* __restrict__ out, const float* __restrict__ x, const u8* __restrict__ raw,
                                        const u8* __restrict__ raw2, i64 M, i64 N, i64 K, i64 KC, i64 KS,
                                        float* __restrict__ part, unsigned* __restrict__ cnt) {
  constexpr int RT = R * NW;
  extern __shared__ float4 gv_xs[];  // [MB][KC / 4] swizzled, then the group sums (see the header)
  __shared__ int gv_last;
  const int lane = threadIdx.x & 31;
  const i64 n0 = ((i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5)) * R;
  const i64 rb = K / BE * BB;
  const u8* rows[RT];
#pragma unroll
  for (int r = 0; r < RT; ++r) rows[r] = (r < R ? raw : raw2) + (n0 + r % R < N ? n0 + r % R : N - 1) * rb;
  float acc[RT][MB];
#pragma unroll
  for (int r = 0; r < RT; ++r)
#pragma unroll
    for (int m = 0; m < MB; ++m) acc[r][m] = 0.0f;
  const int kc4 = (int)(KC / 4), nuc = (int)(KC / U::UW);
  float* xg = reinterpret_cast<float*>(gv_xs + MB * kc4);
  const i64 ks = (i64)blockIdx.y * KS, ke = ks + KS < K ? ks + KS : K;
  for (i64 k0 = ks; k0 < ke; k0 += KC) {
    const int kn4 = (int)((ke - k0 < KC ? ke - k0 : KC) / 4), nu = 4 * kn4 / U::UW;
    const i64 ub = k0 / U::UW;  // global index of the chunk's first unit (chunks start on 256 weights)
    U un[RT];
#if GV_PF > 1
    U nx[RT];
    if (lane + 32 < nu) gv_load(nx, rows, ub + lane + 32);
#endif
    if (lane < nu) gv_load(un, rows, ub + lane);  // first loads in flight while x is staged
    __syncthreads();  // the previous chunk's x is consumed
    gv_stage<U, MB>(x, gv_xs, xg, M, K, k0, kn4, kc4, nuc);
    __syncthreads();
#if GV_PF > 1
    for (int u = lane; u < nu; u += 64) {
      gv_step<U, MB, RT>(un, gv_xs, xg, kc4, nuc, u, acc);
      if (u + 64 < nu) gv_load(un, rows, ub + u + 64);
      if (u + 32 < nu) {
        gv_step<U, MB, RT>(nx, gv_xs, xg, kc4, nuc, u + 32, acc);
        if (u + 96 < nu) gv_load(nx, rows, ub + u + 96);
      }
    }
#else
    for (int u = lane; u < nu; u += 32) {
      if (u != lane) gv_load(un, rows, ub + u);
      gv_step<U, MB, RT>(un, gv_xs, xg, kc4, nuc, u, acc);
    }
#endif
  }
#pragma unroll
  for (int r = 0; r < RT; ++r) {
#pragma unroll
    for (int m = 0; m < MB; ++m) {
      float s = acc[r][m];
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
      acc[r][m] = s;
    }
  }
  if (gridDim.y == 1) {
    if (lane == 0) {
#pragma unroll
      for (int r = 0; r < R; ++r)
#pragma unroll
        for (int m = 0; m < MB; ++m)
          if (n0 + r < N && m < M) out[m * N + n0 + r] = gv_out<NW>(acc[r][m], acc[NW == 2 ? r + R : r][m]);
    }
    return;
  }
  // K split: partials part[((s * NW + w) * M + m) * N + n], then the row group's last CTA sums them in order.
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < RT; ++r)
#pragma unroll
      for (int m = 0; m < MB; ++m)
        if (n0 + r % R < N && m < M) part[(((i64)blockIdx.y * NW + r / R) * M + m) * N + n0 + r % R] = acc[r][m];
  }
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) gv_last = atomicAdd(cnt + blockIdx.x, 1u) == gridDim.y - 1;
  __syncthreads();
  if (!gv_last) return;
  __threadfence();
  if (threadIdx.x == 0) cnt[blockIdx.x] = 0u;  // every CTA of the group has arrived: ready for the next launch
  for (int t = lane; t < R * MB; t += 32) {
    const int r = t / MB, m = t - r * MB;
    const i64 n = n0 + r;
    if (n >= N || m >= M) continue;
    float v[NW];
#pragma unroll
    for (int w = 0; w < NW; ++w) {
      float s = 0.0f;
      for (int y = 0; y < (int)gridDim.y; ++y) s += __ldcg(part + (((i64)y * NW + w) * M + m) * N + n);
      v[w] = s;
    }
    out[m * N + n] = gv_out<NW>(v[0], v[NW - 1]);
  }
}
#endif  // BOOSTR_QUANT_GEMV_FAST_CUH
