// Fast GEMV units of the 32-weight block formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4 and of
// IQ4_XS (32-weight sub-blocks): one block (sub-block) a lane (unit interface: gemv_fast.cuh).
//
// Formula (per unit, see gemv_fast.cuh): scale() * sum q * x - minv() * sum x, with
//   Q4_0: q = nib - 8, d          Q4_1: q = nib, d, minv = -m      Q5_0: q = (nib | hbit << 4) - 16, d
//   Q5_1: q = nib | hbit << 4, d, minv = -m                       Q8_0: q = int8, d
//   IQ4_NL: q = kvalues_iq4nl[nib], d                              MXFP4: q = kvalues_mxfp4[nib], e8m0_half(e)
//   IQ4_XS: q = kvalues_iq4nl[nib], d * (ls - 32)
// Decoding: Q4_0 / Q4_1 / Q5_0 / Q5_1 packed (v8: bytes q_raw << QSH, QOFF = the offset), the others exact
// (q8: exact floats). Layout: byte offsets in legacy.cuh / iq.cuh / ternary_fp4.cuh; qs words: nibble
// weights 0..15 are the low nibbles of qs bytes 0..15, 16..31 the high ones, so chunk c (weights 8c ..
// 8c + 7) is the low (c < 2) or high nibbles of qs words 2 (c % 2), 2 (c % 2) + 1. The 16 levels of
// IQ4_NL / MXFP4 come as GV_KVT (4 words of int8 + 128, generated from gguf-py's tables by
// boostr/ops/cuda/quant.py).
// Reference: llama.cpp ggml-cuda/vecdotq.cuh (vec_dot_q4_0_q8_1 ... vec_dot_iq4_xs_q8_1).
#ifndef BOOSTR_QUANT_GEMV_UNITS_CUH
#define BOOSTR_QUANT_GEMV_UNITS_CUH

// Units of UW contiguous weights (unit u holds weights UW u .. UW u + UW - 1 of the row), decoded exactly
// unless the unit says QSH >= 0; scale groups of GW weights in k order.
template <int UW_, int GW_>
struct GvContig {
  static constexpr int UW = UW_, GW = GW_, QSH = -1;
  static constexpr float QOFF = 0.0f;
  static __device__ __forceinline__ int kbase(int u) { return UW * u; }
  static __device__ __forceinline__ int koff(int c) { return 8 * c; }
  static __device__ __forceinline__ int swz(int q) { return (q / (UW / 4)) & 7; }
  static __device__ __forceinline__ int uin(int k) { return k / UW; }         // unit of chunk-local weight k
  static __device__ __forceinline__ int gin(int k) { return (k % UW) / GW; }  // its group in the unit
};

#if defined(GV_FMT_q4_0) || defined(GV_FMT_q4_1) || defined(GV_FMT_iq4_nl)
struct GvUnit : GvContig<32, 32> {
#if defined(GV_FMT_q4_1)
  static constexpr bool MINS = true;
  static constexpr int QSH = 3;
  u32 h, qs[4];
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    const u8* p = row + gu * BB;
    h = gv_ld32(p);
    gv_lda<4, 4>(p + 4, qs);
  }
  __device__ __forceinline__ float minv(int) const { return -gv_f16(h >> 16); }
#else
  static constexpr bool MINS = false;
  u32 h, qs[4];
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    const u8* p = row + gu * BB;
    h = gv_ld16(p);
    gv_ldu<4, 16, 2>(p + 2, qs);
  }
  __device__ __forceinline__ float minv(int) const { return 0.0f; }
#endif
#if defined(GV_FMT_iq4_nl)
  __device__ __forceinline__ void q8(int c, float* q) const {
    const u32 t[4] = {GV_KVT};
    gv_tab8(qs, t, c, q);
  }
#else
#if defined(GV_FMT_q4_0)
  static constexpr int QSH = 3;
  static constexpr float QOFF = 8.0f;
#endif
  __device__ __forceinline__ void v8(int c, u32& w0, u32& w1) const {
    w0 = gv_nibp(qs[2 * (c & 1)], c >> 1);
    w1 = gv_nibp(qs[2 * (c & 1) + 1], c >> 1);
  }
#endif
  __device__ __forceinline__ float scale(int) const { return gv_f16(h); }
};
#define GV_HAVE_UNIT 1
#endif

#if defined(GV_FMT_mxfp4)
struct GvUnit : GvContig<32, 32> {
  static constexpr bool MINS = false;
  u32 e, qs[4];
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    const u8* p = row + gu * BB;
    e = __ldg(p);
    gv_ldu<4, 16, 1>(p + 1, qs);
  }
  __device__ __forceinline__ void q8(int c, float* q) const {
    const u32 t[4] = {GV_KVT};
    gv_tab8(qs, t, c, q);
  }
  __device__ __forceinline__ float scale(int) const { return e8m0_half(e); }
  __device__ __forceinline__ float minv(int) const { return 0.0f; }
};
#define GV_HAVE_UNIT 1
#endif

#if defined(GV_FMT_q5_0) || defined(GV_FMT_q5_1)
// Packed q5 << 2 of 4 weights e0 .. e0 + 3: nibbles of nib (low: S = 0, high: S = 4) to bits 2..5, and
// qh bit e0 + j to bit 6 of byte j (bit j times 2^(7j + 6) lands on bit 8j + 6; the partial products of
// the 4 bits never overlap).
__device__ __forceinline__ u32 gv_q5p(u32 nib, int s, u32 qh, int e0) {
  return ((s ? (nib >> 2) : (nib << 2)) & 0x3C3C3C3Cu) | ((((qh >> e0) & 15u) * 0x08102040u) & 0x40404040u);
}

struct GvUnit : GvContig<32, 32> {
  static constexpr int QSH = 2;
  u32 h, v[5];  // v[0] = qh, v[1..4] = qs
#if defined(GV_FMT_q5_0)
  static constexpr bool MINS = false;
  static constexpr float QOFF = 16.0f;
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    const u8* p = row + gu * BB;
    h = gv_ld16(p);
    gv_ldu<5, 20, 2>(p + 2, v);
  }
  __device__ __forceinline__ float minv(int) const { return 0.0f; }
#else
  static constexpr bool MINS = true;
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    const u8* p = row + gu * BB;
    u32 w[6];
    gv_lda<6, 8>(p, w);
    h = w[0];
#pragma unroll
    for (int i = 0; i < 5; ++i) v[i] = w[i + 1];
  }
  __device__ __forceinline__ float minv(int) const { return -gv_f16(h >> 16); }
#endif
  __device__ __forceinline__ void v8(int c, u32& w0, u32& w1) const {
    const int i = 1 + 2 * (c & 1), s = 4 * (c >> 1);
    w0 = gv_q5p(v[i], s, v[0], 8 * c);
    w1 = gv_q5p(v[i + 1], s, v[0], 8 * c + 4);
  }
  __device__ __forceinline__ float scale(int) const { return gv_f16(h); }
};
#define GV_HAVE_UNIT 1
#endif

#if defined(GV_FMT_q8_0)
struct GvUnit : GvContig<32, 32> {
  static constexpr bool MINS = false;
  u32 h, qs[8];
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    const u8* p = row + gu * BB;
    h = gv_ld16(p);
    gv_ldu<8, 32, 2>(p + 2, qs);
  }
  __device__ __forceinline__ void q8(int c, float* q) const {
    gv_4f<128>(qs[2 * c] ^ 0x80808080u, q);
    gv_4f<128>(qs[2 * c + 1] ^ 0x80808080u, q + 4);
  }
  __device__ __forceinline__ float scale(int) const { return gv_f16(h); }
  __device__ __forceinline__ float minv(int) const { return 0.0f; }
};
#define GV_HAVE_UNIT 1
#endif

#if defined(GV_FMT_iq4_xs)
// Unit = sub-block ib (32 weights) of a 256-weight block: f16 d, u16 scales_h, u8 scales_l[4], qs[128].
struct GvUnit : GvContig<32, 32> {
  static constexpr bool MINS = false;
  u32 hd[2], qs[4];
  int ib;
  __device__ __forceinline__ void load(const u8* row, i64 gu) {
    ib = (int)(gu & 7);
    const u8* p = row + (gu >> 3) * BB;
    gv_lda<2, 8>(p, hd);
    gv_lda<4, 8>(p + 8 + 16 * ib, qs);
  }
  __device__ __forceinline__ void q8(int c, float* q) const {
    const u32 t[4] = {GV_KVT};
    gv_tab8(qs, t, c, q);
  }
  __device__ __forceinline__ float scale(int) const {
    const u32 ls = ((hd[1] >> (4 * ib)) & 15u) | (((hd[0] >> (16 + 2 * ib)) & 3u) << 4);
    return gv_f16(hd[0]) * (float)((int)ls - 32);
  }
  __device__ __forceinline__ float minv(int) const { return 0.0f; }
};
#define GV_HAVE_UNIT 1
#endif

#if defined(GV_HAVE_UNIT) && !defined(GV_MINB4)
#define GV_MINB4 3  // 32-weight units: 4 rows a warp fit in 80 registers
#if GV_PF == 1
#define GV_MINB1 5  // and 1 row of 1 x row in 48 (5 CTAs of 8 warps an SM; GV_PF = 2 would spill)
#endif
#endif
#endif  // BOOSTR_QUANT_GEMV_UNITS_CUH
