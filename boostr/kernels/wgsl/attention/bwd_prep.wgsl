// FlashAttention-2 backward preprocessing (Dao 2023, Algorithm 2 line 4): per row x = (b H + h) Sq + i,
//   delta[x] = sum_d dout[x, d] * out[x, d]  and  lse2[x] = lse[x] * log2 e (the forward's LSE in the
//   log2 units the backward kernels use), written as aux[P[18] + x] = lse2, aux[P[18] + NX + x] = delta;
//   with ALiBi (P[19] = 1) also aux[P[18] + 2 NX + h] = slope[h] * log2 e for h < H, and for varlen
//   (P[21] = n > 0) aux[P[23] + c] = f32(cu[P[22] + c]) for c < n: the i32 cu_seqlens_q ++ cu_seqlens_k,
//   exact as f32 below 2^24, where the dQ and dK/dV passes read them (one buffer fewer to bind there).
//   Varlen runs this with B = 1 and Sq = Tq: dout, out [Tq, H, D] and lse [H, Tq] as strided views.
// Layout: dout, out [B, H, Sq, D] and lse [B, H, Sq] at any element strides (P words below); one
//   thread per row, f32 accumulation.
// P: [0] NX = B H Sq, [1] H, [2] Sq, [3] D, [4..9) dout offset + strides (b, h, s, d), [9..14) out,
//   [14..18) lse offset + strides (b, h, s), [18] aux offset, [19] ALiBi, [20] slopes offset,
//   [21] cu count, [22] cu offset, [23] aux index of the cu copy.
#include "attn_common.wgsl"
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let x = gid.x + gid.y * nwg.x * 64u;
    if (P[19] == 1u && x < P[1]) { st_aux(P[18] + 2u * P[0] + x, ld_sl(P[20] + x) * LOG2E); }
    if (x < P[21]) { st_aux(P[23] + x, f32(ld_cu(P[22] + x))); }
    if (x >= P[0]) { return; }
    let i = x % P[2];
    let bh = x / P[2];
    let h = bh % P[1];
    let b = bh / P[1];
    let ob = P[4] + b * P[5] + h * P[6] + i * P[7];
    let pb = P[9] + b * P[10] + h * P[11] + i * P[12];
    var acc = 0.0;
    for (var d = 0u; d < P[3]; d = d + 1u) { acc = fma(ld_dout(ob + d * P[8]), ld_out(pb + d * P[13]), acc); }
    st_aux(P[18] + x, ld_lse(P[14] + b * P[15] + h * P[16] + i * P[17]) * LOG2E);
    st_aux(P[18] + P[0] + x, acc);
}
