// Flash decoding combine (Dao et al. 2023, "Flash-Decoding for long-context inference"; the split-KV
// reduction of FlashAttention-2): the NS partials (m_s, l_s, o_s) of one row, computed by flash_fwd.wgsl
// with SPLIT over disjoint key ranges in log2 units, merge by log-sum-exp:
//   M = max_s m_s, w_s = 2^(m_s - M), l = sum_s w_s l_s, out = sum_s w_s o_s / l, lse = ln 2 (M + log2 l);
//   l == 0 (no key anywhere) gives out 0 and lse -inf.
// Layout: part (f32): the record (m, l, o[0..D)) of row x, split s at P[3] + (x NS + s) (D + 2).
//   out [rows, D] at P[5] (q's dtype), lse [rows] f32 at P[6]. One workgroup per row.
// P: [0] rows, [1] NS, [2] D, [3] part offset, [5] out offset, [6] lse offset.
#include "attn_common.wgsl"
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let x = wid.x + wid.y * nwg.x;
    if (x >= P[0]) { return; }
    let NS = P[1];
    let D = P[2];
    let R = D + 2u;
    let pb = P[3] + x * NS * R;
    var M = NEG;
    for (var s = 0u; s < NS; s = s + 1u) { M = max(M, ld_part(pb + s * R)); }
    var l = 0.0;
    for (var s = 0u; s < NS; s = s + 1u) { l = l + ld_part(pb + s * R + 1u) * exp2(ld_part(pb + s * R) - M); }
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var d = t; d < D; d = d + 64u) {
        var acc = 0.0;
        for (var s = 0u; s < NS; s = s + 1u) {
            acc = acc + ld_part(pb + s * R + 2u + d) * exp2(ld_part(pb + s * R) - M);
        }
        st_out(P[5] + x * D + d, acc * inv);
    }
    if (t == 0u) { st_lse(P[6] + x, select(neg_inf(), (M + log2(l)) * LN2, l > 0.0)); }
}
