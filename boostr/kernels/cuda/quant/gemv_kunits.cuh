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

struct GvUnit : GvContig<64> {
  static constexpr int GW = 32;
  static constexpr bool MINS = true;
  u32 hd[4], qs[8];
#if defined(GV_FMT_q5_k)
  u32 qh[8];
#endif
  int j;
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    j = (int)(gu & 3);
    const u8* p = row + (gu >> 2) * BB;
    gv_lda<4, 16>(p, hd);
#if defined(GV_FMT_q5_k)
    gv_lda<8, 16>(p + 16, qh);
    gv_lda<8, 16>(p + 48 + 32 * j, qs);
#else
    gv_lda<8, 16>(p + 16 + 32 * j, qs);
#endif
  }
  __device__ __forceinline__ void q8(int c, float* q) const {
    const int i = 2 * (c & 3), hi = c >> 2;
#if defined(GV_FMT_q5_k)
    const int sb = 2 * j + hi;
    gv_4f<0>(((qs[i] >> (4 * hi)) & 0x0F0F0F0Fu) | (((qh[i] >> sb) & 0x01010101u) << 4), q);
    gv_4f<0>(((qs[i + 1] >> (4 * hi)) & 0x0F0F0F0Fu) | (((qh[i + 1] >> sb) & 0x01010101u) << 4), q + 4);
#else
    gv_nib8<0>(qs[i], qs[i + 1], hi, q);
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
  static constexpr int UW = 64, GW = 16;
  static constexpr bool MINS = false;
  u32 ql[8], qh[8], sc[2], dh;
  int h;
  static __device__ __forceinline__ int kbase(int u) { return 256 * (u >> 2) + 128 * ((u >> 1) & 1) + 32 * (u & 1); }
  static __device__ __forceinline__ int koff(int c) { return c < 4 ? 8 * c : 64 + 8 * (c - 4); }
  // unit of float4 q (block q >> 6, half q >> 5 & 1, h = q >> 3 & 1) mod 8
  static __device__ __forceinline__ int swz(int q) { return (((q >> 6) & 1) << 2) | (((q >> 5) & 1) << 1) | ((q >> 3) & 1); }
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    const int j = (int)(gu & 3), cc = j >> 1;
    h = j & 1;
    const u8* p = row + (gu >> 2) * BB;
    gv_ldu<8, 32, 2>(p + 64 * cc + 32 * h, ql);
    gv_ldu<8, 32, 2>(p + 128 + 32 * cc, qh);
    gv_ldu<2, 8, 2>(p + 192 + 8 * cc, sc);
    dh = gv_ld16(p + 208);
  }
  __device__ __forceinline__ void q8(int c, float* q) const {
    const int i = 2 * (c & 3), hi = c >> 2, s = 2 * h + 4 * hi;
    gv_4f<32>(((ql[i] >> (4 * hi)) & 0x0F0F0F0Fu) | (((qh[i] >> s) & 0x03030303u) << 4), q);
    gv_4f<32>(((ql[i + 1] >> (4 * hi)) & 0x0F0F0F0Fu) | (((qh[i + 1] >> s) & 0x03030303u) << 4), q + 4);
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
struct GvUnit : GvContig<128> {
  static constexpr int GW = 16;
  static constexpr bool MINS = true;
  u32 qs[8], sc[2], dd;
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    const int j = (int)(gu & 1);
    const u8* p = row + (gu >> 1) * BB;
    gv_lda<8, 4>(p + 16 + 32 * j, qs);
    gv_lda<2, 4>(p + 8 * j, sc);
    dd = gv_ld32(p + 80);
  }
  __device__ __forceinline__ void q8(int c, float* q) const {
    const int i = 2 * (c & 3), s = 2 * (c >> 2);
    gv_4f<0>((qs[i] >> s) & 0x03030303u, q);
    gv_4f<0>((qs[i + 1] >> s) & 0x03030303u, q + 4);
  }
  __device__ __forceinline__ float scale(int g) const { return gv_f16(dd) * (float)((sc[g >> 2] >> (8 * (g & 3))) & 15u); }
  __device__ __forceinline__ float minv(int g) const { return gv_f16(dd >> 16) * (float)((sc[g >> 2] >> (8 * (g & 3) + 4)) & 15u); }
};
#define GV_HAVE_UNIT 1
#endif

#if defined(GV_FMT_q3_k)
struct GvUnit : GvContig<128> {
  static constexpr int GW = 16;
  static constexpr bool MINS = false;
  u32 hm[8], qs[8], sc[3], dh;
  int j;
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    j = (int)(gu & 1);
    const u8* p = row + (gu >> 1) * BB;
    gv_ldu<8, 32, 2>(p, hm);
    gv_ldu<8, 32, 2>(p + 32 + 32 * j, qs);
    gv_ldu<3, 12, 2>(p + 96, sc);
    dh = gv_ld16(p + 108);
  }
  __device__ __forceinline__ void q8(int c, float* q) const {
    const int i = 2 * (c & 3), s = c >> 2, sb = 4 * j + s;
    gv_4f<4>(((qs[i] >> (2 * s)) & 0x03030303u) | (((hm[i] >> sb) << 2) & 0x04040404u), q);
    gv_4f<4>(((qs[i + 1] >> (2 * s)) & 0x03030303u) | (((hm[i + 1] >> sb) << 2) & 0x04040404u), q + 4);
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
