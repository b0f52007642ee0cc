// Fused RoPE forward / backward: one thread per rotated pair, f32 arithmetic.
//
// Formula: for the pair (a, b) of head-dim slot k at table row p, with c = cos[p, k], s = sign * sin[p, k]
// (sign -1 is the backward, the rotation by -theta): (a, b) -> (a c - b s, a s + b c). Pairs: split-half
// (k, k + D/2) (GPT-NeoX / HF rotate_half) or interleaved (2k, 2k + 1) (GPT-J, GGUF "normal").
// Layout: x [B, H, S, D] with any element strides (xs[4]); out [B, H, S, D] contiguous in x's dtype;
// cos/sin [S_max, D/2] f32 contiguous; pos: null (p = s), [S] (pos_b == 0) or [B, S] (pos_b == S)
// int64, clamped to [0, S_max) (the GPU index policy).
// Reference: Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding" (2021).
#include "../common/dtypes.cuh"

struct St4 {
  i64 v[4];
};

extern "C" __global__ void __launch_bounds__(256)
    rope_${N}(${T}* __restrict__ out, const ${T}* __restrict__ x, const float* __restrict__ cs,
              const float* __restrict__ sn, const i64* __restrict__ pos, i64 B, i64 H, i64 S, i64 D, St4 xs,
              i64 smax, i64 pos_b, i64 interleaved, double sign) {
  const i64 half = D / 2, total = B * H * S * half;
  const float sg = (float)sign;
  GRID_STRIDE(t, total) {
    const i64 kk = t % half, s = (t / half) % S, h = (t / (half * S)) % H, b = t / (half * S * H);
    i64 p = pos == nullptr ? s : pos[b * pos_b + s];
    p = p < 0 ? 0 : (p >= smax ? smax - 1 : p);
    const float c = cs[p * half + kk], si = sn[p * half + kk] * sg;
    const i64 d0 = interleaved ? 2 * kk : kk, d1 = interleaved ? 2 * kk + 1 : kk + half;
    const ${T}* xr = x + b * xs.v[0] + h * xs.v[1] + s * xs.v[2];
    const float a = (float)wide(xr[d0 * xs.v[3]]), bb = (float)wide(xr[d1 * xs.v[3]]);
    ${T}* o = out + ((b * H + h) * S + s) * D;
    o[d0] = put<${T}>(a * c - bb * si);
    o[d1] = put<${T}>(a * si + bb * c);
  }
}
