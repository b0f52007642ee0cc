// Fast GEMV units of the K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (256-weight super-blocks): a fixed
// share of a super-block a lane, decoded to exact integer codes and scaled per 16/32-weight group.
//
// Formula (per group g of the unit, see gemv_fast.cuh): scale(g) * sum q * x - minv(g) * sum x with
//   Q2_K (unit 128 = half c, groups of 16): q = qs[32c + m] >> 2s & 3, scale d * sc, minv dmin * mn
//   Q3_K (unit 128, groups of 16): q = (qs bits | hmask bit << 2) - 4, scale d * (sc6 - 32)
//   Q4_K (unit 64 = sub-blocks 2j, 2j + 1, groups of 32): q = nib, scale d * sc, minv dmin * mn
//   Q5_K (unit 64, groups of 32): q = nib | qh bit << 4, scale d * sc, minv dmin * mn
//   Q6_K (unit 64, groups of 16): q = (ql nib | qh 2 bits << 4) - 32, scale d * int8 sc
// i.e. the dequantized (d * sc) * q - (dmin * mn) of kquants.cuh, summed against x.
// Decoding: packed (v8 gives bytes q_raw << QSH, gemv_fast.cuh), QOFF the offset (Q3_K 4, Q6_K 32); bit
// fields that sit at a lane-dependent shift (Q3_K hmask, Q5_K qh, Q6_K qh) are shifted once at load.
// Layout: block bytes as in kquants.cuh. Q4_K / Q5_K blocks are 16-byte aligned (LDG.128), Q2_K 4-byte,
// Q3_K / Q6_K only 2-byte (gv_ldu). Q6_K unit j = 2 cc + h (cc = 128-weight half, h = 32-byte half of
// its ql) holds weights 128 cc + 32 h + (0..31) (low nibbles) and 128 cc + 64 + 32 h + (0..31) (high).
// Reference: llama.cpp ggml-cuda/vecdotq.cuh (vec_dot_q2_K_q8_1 ... vec_dot_q6_K_q8_1), ggml-quants.c
// (get_scale_min_k4 and its kmask1/2/3 word form).
#ifndef BOOSTR_QUANT_GEMV_KUNITS_CUH
#define BOOSTR_QUANT_GEMV_KUNITS_CUH

#if defined(GV_FMT_q4_k) || defined(GV_FMT_q5_k)
// 6-bit scale and min of sub-blocks 2j + g from the 12 scale bytes s0..s2 (get_scale_min_k4, 4 at a time).
__device__ __forceinline__ void gv_scmin_k4(const u32* hd, int j, int g, u32& sc, u32& mn) {
  const u32 s0 = hd[1], s1 = hd[2], s2 = hd[3];
  const u32 scw = j < 2 ? (s0 & 0x3f3f3f3fu) : ((s2 & 0x0f0f0f0fu) | ((s0 >> 2) & 0x30303030u));
  const u32 mnw = j < 2 ? (s1 & 0x3f3f3f3fu) : (((s2 >> 4) & 0x0f0f0f0fu) | ((s1 >> 2) & 0x30303030u));
  const int sh = 8 * ((2 * j + g) & 3);
  sc = (scw >> sh) & 0xffu;
  mn = (mnw >> sh) & 0xffu;
}

// Unit j (64 weights) = sub-blocks 2j (low nibbles of qs[32j .. 32j + 31]) and 2j + 1 (high nibbles).
struct GvUnit : GvContig<64, 32> {
  static constexpr bool MINS = true;
  u32 hd[4], qs[8];
#if defined(GV_FMT_q5_k)
  static constexpr int QSH = 2;
  u32 qh[8];  // shifted right by 2j: bit hi of each byte is the 5th bit of sub-block 2j + hi
#else
  static constexpr int QSH = 3;
#endif
  int j;
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    j = (int)(gu & 3);
    const u8* p = row + (gu >> 2) * BB;
    gv_lda<4, 16>(p, hd);
#if defined(GV_FMT_q5_k)
    gv_lda<8, 16>(p + 16, qh);
#pragma unroll
    for (int i = 0; i < 8; ++i) qh[i] >>= 2 * j;
    gv_lda<8, 16>(p + 48 + 32 * j, qs);
#else
    gv_lda<8, 16>(p + 16 + 32 * j, qs);
#endif
  }
  __device__ __forceinline__ void v8(int c, u32& w0, u32& w1) const {
    const int i = 2 * (c & 3), hi = c >> 2;
#if defined(GV_FMT_q5_k)
    w0 = ((hi ? qs[i] >> 2 : qs[i] << 2) & 0x3C3C3C3Cu) | ((qh[i] << (6 - hi)) & 0x40404040u);
    w1 = ((hi ? qs[i + 1] >> 2 : qs[i + 1] << 2) & 0x3C3C3C3Cu) | ((qh[i + 1] << (6 - hi)) & 0x40404040u);
#else
    w0 = gv_nibp(qs[i], hi);
    w1 = gv_nibp(qs[i + 1], hi);
#endif
  }
  __device__ __forceinline__ float scale(int g) const {
    u32 sc, mn;
    gv_scmin_k4(hd, j, g, sc, mn);
    return gv_f16(hd[0]) * (float)sc;
  }
  __device__ __forceinline__ float minv(int g) const {
    u32 sc, mn;
    gv_scmin_k4(hd, j, g, sc, mn);
    return gv_f16(hd[0] >> 16) * (float)mn;
  }
};
#define GV_HAVE_UNIT 1
#endif

#if defined(GV_FMT_q6_k)
struct GvUnit {
  static constexpr int UW = 64, GW = 16, QSH = 0;
  static constexpr float QOFF = 32.0f;
  static constexpr bool MINS = false;
  u32 ql[8], qh[8], sc[2], dh;  // qh shifted right by 2h: bits 0-1 / 4-5 of a byte go with the low / high nibbles
  int h;
  static __device__ __forceinline__ int kbase(int u) { return 256 * (u >> 2) + 128 * ((u >> 1) & 1) + 32 * (u & 1); }
  static __device__ __forceinline__ int koff(int c) { return c < 4 ? 8 * c : 64 + 8 * (c - 4); }
  // unit of float4 q (block q >> 6, half q >> 5 & 1, h = q >> 3 & 1) mod 8
  static __device__ __forceinline__ int swz(int q) { return (((q >> 6) & 1) << 2) | (((q >> 5) & 1) << 1) | ((q >> 3) & 1); }
  // chunk-local weight k: unit 4 (k >> 8) + 2 (k >> 7 & 1) + (k >> 5 & 1), group 2 (k >> 6 & 1) + (k >> 4 & 1)
  static __device__ __forceinline__ int uin(int k) { return 4 * (k >> 8) + 2 * ((k >> 7) & 1) + ((k >> 5) & 1); }
  static __device__ __forceinline__ int gin(int k) { return 2 * ((k >> 6) & 1) + ((k >> 4) & 1); }
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    const int j = (int)(gu & 3), cc = j >> 1;
    h = j & 1;
    const u8* p = row + (gu >> 2) * BB;
    gv_ldu<8, 32, 2>(p + 64 * cc + 32 * h, ql);
    gv_ldu<8, 32, 2>(p + 128 + 32 * cc, qh);
#pragma unroll
    for (int i = 0; i < 8; ++i) qh[i] >>= 2 * h;
    gv_ldu<2, 8, 2>(p + 192 + 8 * cc, sc);
    dh = gv_ld16(p + 208);
  }
  __device__ __forceinline__ void v8(int c, u32& w0, u32& w1) const {
    const int i = 2 * (c & 3);
    if (c >> 2) {
      w0 = ((ql[i] >> 4) & 0x0F0F0F0Fu) | (qh[i] & 0x30303030u);
      w1 = ((ql[i + 1] >> 4) & 0x0F0F0F0Fu) | (qh[i + 1] & 0x30303030u);
    } else {
      w0 = (ql[i] & 0x0F0F0F0Fu) | ((qh[i] << 4) & 0x30303030u);
      w1 = (ql[i + 1] & 0x0F0F0F0Fu) | ((qh[i + 1] << 4) & 0x30303030u);
    }
  }
  // group g: g < 2 low nibbles (scale byte 2h + g of this half's 8), else high (byte 4 + 2h + g - 2)
  __device__ __forceinline__ float scale(int g) const {
    const int b = 2 * h + (g & 1);
    return gv_f16(dh) * (float)(signed char)((sc[g >> 1] >> (8 * b)) & 0xffu);
  }
  __device__ __forceinline__ float minv(int) const { return 0.0f; }
};
#define GV_HAVE_UNIT 1
#endif

#if defined(GV_FMT_q2_k)
// Unit j (128 weights) = qs[32j .. 32j + 31], 2-bit field s of each byte for weights 32s + (0..31).
struct GvUnit : GvContig<128, 16> {
  static constexpr bool MINS = true;
  static constexpr int QSH = 4;
  u32 qs[8], sc[2], dd;
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    const int j = (int)(gu & 1);
    const u8* p = row + (gu >> 1) * BB;
    gv_lda<8, 4>(p + 16 + 32 * j, qs);
    gv_lda<2, 4>(p + 8 * j, sc);
    dd = gv_ld32(p + 80);
  }
  __device__ __forceinline__ void v8(int c, u32& w0, u32& w1) const {
    const int i = 2 * (c & 3), sh = 4 - 2 * (c >> 2);  // field at bits 2s -> bits 4-5
    w0 = (sh >= 0 ? qs[i] << sh : qs[i] >> -sh) & 0x30303030u;
    w1 = (sh >= 0 ? qs[i + 1] << sh : qs[i + 1] >> -sh) & 0x30303030u;
  }
  __device__ __forceinline__ float scale(int g) const { return gv_f16(dd) * (float)((sc[g >> 2] >> (8 * (g & 3))) & 15u); }
  __device__ __forceinline__ float minv(int g) const { return gv_f16(dd >> 16) * (float)((sc[g >> 2] >> (8 * (g & 3) + 4)) & 15u); }
};
#define GV_HAVE_UNIT 1
#endif

#if defined(GV_FMT_q3_k)
struct GvUnit : GvContig<128, 16> {
  static constexpr bool MINS = false;
  static constexpr int QSH = 4;
  static constexpr float QOFF = 4.0f;
  u32 hm[8], qs[8], sc[3], dh;  // hm shifted right by 4j: bit s of a byte is the high bit of field s
  int j;
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    j = (int)(gu & 1);
    const u8* p = row + (gu >> 1) * BB;
    gv_ldu<8, 32, 2>(p, hm);
#pragma unroll
    for (int i = 0; i < 8; ++i) hm[i] >>= 4 * j;
    gv_ldu<8, 32, 2>(p + 32 + 32 * j, qs);
    gv_ldu<3, 12, 2>(p + 96, sc);
    dh = gv_ld16(p + 108);
  }
  // q_raw = (qs >> 2s & 3) | (hm bit s) << 2, packed << 4: the 2 bits to bits 4-5, the high bit to bit 6
  __device__ __forceinline__ void v8(int c, u32& w0, u32& w1) const {
    const int i = 2 * (c & 3), s = c >> 2, sh = 4 - 2 * s;
    w0 = ((sh >= 0 ? qs[i] << sh : qs[i] >> -sh) & 0x30303030u) | ((hm[i] << (6 - s)) & 0x40404040u);
    w1 = ((sh >= 0 ? qs[i + 1] << sh : qs[i + 1] >> -sh) & 0x30303030u) | ((hm[i + 1] << (6 - s)) & 0x40404040u);
  }
  // group G = 8 j + g: low 4 bits from byte g of scales[0..7] (low nibble for j = 0, high for j = 1),
  // high 2 bits from scales[8 + (G & 3)] >> 2 (G >> 2)
  __device__ __forceinline__ float scale(int g) const {
    const u32 lo = (sc[g >> 2] >> (8 * (g & 3) + 4 * j)) & 15u;
    const u32 hi = (sc[2] >> (8 * (g & 3) + 2 * (2 * j + (g >> 2)))) & 3u;
    return gv_f16(dh) * (float)((int)(lo | (hi << 4)) - 32);
  }
  __device__ __forceinline__ float minv(int) const { return 0.0f; }
};
#define GV_HAVE_UNIT 1
#endif
#endif  // BOOSTR_QUANT_GEMV_KUNITS_CUH
