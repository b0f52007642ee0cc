// Fast quantized GEMV: wide aligned block loads, exact integer -> float decoding, x in shared memory.
//
// Formula: out[m, n] = sum_g scale_g(n) * (sum_{k in g} q[n, k] * x[m, k]) - min_g(n) * (sum_{k in g} x[m, k])
// over the scale groups g of row n (16 or 32 weights; min_g = 0 for formats without mins), f32 FMAs.
// q (the block's integer code, offsets applied) is made exactly in f32 with the magic-number trick:
// byte b -> __uint_as_float(0x4B000000 | b) = 2^23 + b, minus (2^23 + OFF) = b - OFF (exact, one FADD; no
// I2F, which runs at a quarter of the FMA rate), so the only rounding is that of f32 FMAs and sums.
// Layout: x [M, K] f32 (rows 16-byte aligned), raw [N, K / BE * BB] bytes, out [M, N] f32.
//   CTA = GV_WARPS warps; warp w takes the R weight rows n0 .. n0 + R - 1 (n0 = (block * GV_WARPS + w) * R;
//   rows past N re-read row N - 1 and are not written). A row is split into "units" of U::UW weights
//   (a block, or a fixed share of a K-quant super-block); lane l takes units l, l + 32, ... so a warp
//   reads a contiguous run of blocks per step, and decodes its unit of all R rows against the same x.
//   x is staged per K chunk (KC floats a row, a multiple of 256, launch argument) in dynamic shared
//   memory [MB][KC / 4] float4, float4 q of a chunk stored at q ^ (unit(q) & 7): the 8 lanes of a
//   quarter warp (units u .. u + 7) then read 8 different bank quads (conflict-free LDS.128).
//   Per-warp sums are reduced by shuffles; lane 0 writes out[m, n] for m < M, n < N.
// Block bytes are loaded as aligned 32/64/128-bit words: 2-byte (1-byte for MXFP4) aligned fields
// through gv_ldu (aligned u64 loads, one word select and one funnel shift a word, as llama.cpp's
// get_int_b2 does with 16-bit halves), 4-, 8- and 16-byte aligned ones directly (the host checks the
// raw pointer's alignment, else it runs the generic gemv_<fmt>_m<MB> kernel).
// Reference: llama.cpp ggml-cuda/mmvq.cu + vecdotq.cuh (get_int_b2/b4, get_int_from_table_16, the
// K-quant scale unpacking), ggml-quants.c (kmask scale unpack); block layouts in legacy.cuh / kquants.cuh.
#ifndef BOOSTR_QUANT_GEMV_FAST_CUH
#define BOOSTR_QUANT_GEMV_FAST_CUH

#define GV_WARPS 8
#define GV_MAGIC 0x4B000000u

__device__ __forceinline__ float gv_f16(u32 h) { return f16_to_f32((unsigned short)(h & 0xffffu)); }
__device__ __forceinline__ u32 gv_ld16(const u8* p) { return __ldg(reinterpret_cast<const unsigned short*>(p)); }
__device__ __forceinline__ u32 gv_ld32(const u8* p) { return __ldg(reinterpret_cast<const unsigned int*>(p)); }

// The 4 bytes of b (each q + OFF, 0..255) as the exact floats q[0..3].
template <int OFF>
__device__ __forceinline__ void gv_4f(u32 b, float* q) {
#pragma unroll
  for (int j = 0; j < 4; ++j) q[j] = __uint_as_float(__byte_perm(b, GV_MAGIC, 0x7440u | (u32)j)) - (8388608.0f + (float)OFF);
}

// Nibbles of 2 words (16 nibbles, byte i = lo | hi << 4) as 8 floats: the low nibbles (HI = 0) or high ones.
template <int OFF>
__device__ __forceinline__ void gv_nib8(u32 w0, u32 w1, int hi, float* q) {
  gv_4f<OFF>((w0 >> (4 * hi)) & 0x0F0F0F0Fu, q);
  gv_4f<OFF>((w1 >> (4 * hi)) & 0x0F0F0F0Fu, q + 4);
}

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

// One unit step of a lane: chunks of 8 weights, x from shared memory, R rows against the same x.
template <class U, int MB, int R>
__device__ __forceinline__ void gv_step(const U (&un)[R], const float4* xs, int kc4, int u, float (&acc)[R][MB]) {
  constexpr int NC = U::UW / 8, CG = U::GW / 8;
  const int kb4 = U::kbase(u) / 4, sw = u & 7;
  float gs[R][MB], xsum[MB];
#pragma unroll
  for (int c = 0; c < NC; ++c) {
    if (c % CG == 0) {
#pragma unroll
      for (int m = 0; m < MB; ++m) {
        xsum[m] = 0.0f;
#pragma unroll
        for (int r = 0; r < R; ++r) gs[r][m] = 0.0f;
      }
    }
    const int q = (kb4 + U::koff(c) / 4) ^ sw;  // even: its pair is q ^ 1
    float qv[R][8];
#pragma unroll
    for (int r = 0; r < R; ++r) un[r].q8(c, qv[r]);
#pragma unroll
    for (int m = 0; m < MB; ++m) {
      const float4 a = xs[m * kc4 + q], b = xs[m * kc4 + (q ^ 1)];
      if (U::MINS) xsum[m] += ((a.x + a.y) + (a.z + a.w)) + ((b.x + b.y) + (b.z + b.w));
#pragma unroll
      for (int r = 0; r < R; ++r) {
        float s = gs[r][m];
        s = fmaf(qv[r][0], a.x, s), s = fmaf(qv[r][1], a.y, s), s = fmaf(qv[r][2], a.z, s), s = fmaf(qv[r][3], a.w, s);
        s = fmaf(qv[r][4], b.x, s), s = fmaf(qv[r][5], b.y, s), s = fmaf(qv[r][6], b.z, s), s = fmaf(qv[r][7], b.w, s);
        gs[r][m] = s;
      }
    }
    if (c % CG == CG - 1) {
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const float sc = un[r].scale(c / CG), mn = U::MINS ? un[r].minv(c / CG) : 0.0f;
#pragma unroll
        for (int m = 0; m < MB; ++m) {
          acc[r][m] = fmaf(sc, gs[r][m], acc[r][m]);
          if (U::MINS) acc[r][m] = fmaf(-mn, xsum[m], acc[r][m]);
        }
      }
    }
  }
}

template <class U, int MB, int R>
__device__ __forceinline__ void gv_body(float* __restrict__ out, const float* __restrict__ x, const u8* __restrict__ raw,
                                        i64 M, i64 N, i64 K, i64 KC) {
  extern __shared__ float4 gv_xs[];  // [MB][KC / 4], swizzled (see the header)
  const int lane = threadIdx.x & 31;
  const i64 n0 = ((i64)blockIdx.x * GV_WARPS + (threadIdx.x >> 5)) * R;
  const i64 rb = K / BE * BB;
  const u8* rows[R];
#pragma unroll
  for (int r = 0; r < R; ++r) rows[r] = raw + (n0 + r < N ? n0 + r : N - 1) * rb;
  float acc[R][MB];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int m = 0; m < MB; ++m) acc[r][m] = 0.0f;
  const int kc4 = (int)(KC / 4);
  for (i64 k0 = 0; k0 < K; k0 += KC) {
    const int kn4 = (int)((K - k0 < KC ? K - k0 : KC) / 4), nu = 4 * kn4 / U::UW;
    const i64 ub = k0 / U::UW;  // global index of the chunk's first unit (chunks start on 256 weights)
    U un[R];
    if (lane < nu) {  // first loads in flight while x is staged
#pragma unroll
      for (int r = 0; r < R; ++r) un[r].load(rows[r], ub + lane);
    }
    __syncthreads();  // the previous chunk's x is consumed
    for (int i = threadIdx.x; i < MB * kn4; i += GV_WARPS * 32) {
      const int m = i / kn4, q = i - m * kn4;
      const float4* xr = reinterpret_cast<const float4*>(x + (m < M ? m : M - 1) * K + k0);
      gv_xs[m * kc4 + (q ^ U::swz(q))] = __ldg(xr + q);
    }
    __syncthreads();
    for (int u = lane; u < nu; u += 32) {
      if (u != lane) {
#pragma unroll
        for (int r = 0; r < R; ++r) un[r].load(rows[r], ub + u);
      }
      gv_step<U, MB, R>(un, gv_xs, kc4, u, acc);
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int m = 0; m < MB; ++m) {
      float s = acc[r][m];
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
      if (lane == 0 && n0 + r < N && m < M) out[m * N + n0 + r] = s;
    }
  }
}
#endif  // BOOSTR_QUANT_GEMV_FAST_CUH
