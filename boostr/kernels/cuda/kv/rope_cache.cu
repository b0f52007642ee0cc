// Fused RoPE + paged KV-cache write of a decode / prefill step: one launch for q, k and v.
//
// Formula: token t = b * S + s of the fused projection qkv holds H q heads, Hkv k heads, Hkv v heads of D.
// At table row p = pos[b * pos_b + s] (clamped to [0, smax)) a q/k pair (x0, x1) — split-half (k, k + D/2)
// (GPT-NeoX / HF rotate_half) or interleaved (2k, 2k + 1) (GPT-J, GGUF "normal") — becomes
// (x0 c - x1 sn, x0 sn + x1 c) with c = cos[p, k], sn = sin[p, k], in f32, rounded once to the cache type.
// q heads go to q[b, h, s, :]; k heads (rotated) and v heads (raw) to row slot = slots[t] of the blocks
// (a negative slot skips the token's k and v; slot >= rows is clamped to rows - 1, the GPU index policy).
// One thread per (token, head, pair); v threads copy elements (2k, 2k + 1).
// Layout: qkv [B, S, (H + 2 Hkv) D] ${T} with element strides xs (b, s, e); cos/sin [smax, D/2] f32
// contiguous; pos int64 [S] (pos_b == 0) or [B, S] (pos_b == S); slots [B * S] int64;
// q [B, H, S, D] ${C} contiguous; kb/vb [N, bs, Hkv, D] ${C} contiguous (rows = N * bs rows of Hkv * D).
// Reference: Su et al., "RoFormer" (2021); Kwon et al., "Efficient Memory Management for LLM Serving with
// PagedAttention" (SOSP 2023), reshape_and_cache.
#include "../common/dtypes.cuh"

struct St3 {
  i64 v[3];
};

extern "C" __global__ void __launch_bounds__(256)
    rope_reshape_and_cache_${N}_${CN}(${C}* __restrict__ q, ${C}* __restrict__ kb, ${C}* __restrict__ vb,
                                      const ${T}* __restrict__ qkv, const float* __restrict__ cs,
                                      const float* __restrict__ sn, const i64* __restrict__ pos,
                                      const i64* __restrict__ slots, i64 B, i64 S, i64 H, i64 Hkv, i64 D, St3 xs,
                                      i64 smax, i64 pos_b, i64 rows, i64 interleaved) {
  const i64 half = D / 2, per_tok = (H + 2 * Hkv) * half, total = B * S * per_tok;
  GRID_STRIDE(i, total) {
    const i64 tok = i / per_tok, r = i % per_tok, hh = r / half, kk = r % half;
    const i64 b = tok / S, s = tok % S;
    const ${T}* x = qkv + b * xs.v[0] + s * xs.v[1] + hh * D * xs.v[2];
    i64 slot = 0;
    if (hh >= H) {  // k or v: find the token's cache row
      slot = slots[tok];
      if (slot < 0) continue;
      slot = slot >= rows ? rows - 1 : slot;
    }
    if (hh >= H + Hkv) {  // v: raw copy of elements (2k, 2k + 1)
      ${C}* o = vb + slot * (Hkv * D) + (hh - H - Hkv) * D;
      o[2 * kk] = put<${C}>((float)wide(x[2 * kk * xs.v[2]]));
      o[2 * kk + 1] = put<${C}>((float)wide(x[(2 * kk + 1) * xs.v[2]]));
      continue;
    }
    i64 p = pos[b * pos_b + s];
    p = p < 0 ? 0 : (p >= smax ? smax - 1 : p);
    const float c = cs[p * half + kk], si = sn[p * half + kk];
    const i64 d0 = interleaved ? 2 * kk : kk, d1 = interleaved ? 2 * kk + 1 : kk + half;
    const float a = (float)wide(x[d0 * xs.v[2]]), bb = (float)wide(x[d1 * xs.v[2]]);
    ${C}* o = hh < H ? q + ((b * H + hh) * S + s) * D : kb + slot * (Hkv * D) + (hh - H) * D;
    o[d0] = put<${C}>(a * c - bb * si);
    o[d1] = put<${C}>(a * si + bb * c);
  }
}
