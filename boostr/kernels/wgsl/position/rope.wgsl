// Rotary position embedding (Su et al. 2021, "RoFormer"), forward and backward in one kernel:
//   (a, b) -> (a cos - b sin', a sin' + b cos) with sin' = sign * sin (sign -1: the backward, the
//   rotation by -theta), computed in f32; cos/sin rows are picked by the token's position.
// Pairs: split-half (GPT-NeoX / HF rotate_half) (x[k], x[k + D/2]); interleaved (GPT-J, GGUF normal)
//   (x[2k], x[2k + 1]).
// Layout: x [B, H, S, D] at any element strides; out [B, H, S, D] contiguous; cos, sin [S_max, D/2] at
//   any strides; position ids: none (pos = s), [S] or [B, S] ints (contiguous), clamped into
//   [0, S_max). One thread per pair (b, h, s, k).
// P: [0] pairs, [1] H, [2] S, [3] D/2, [4] x offset, [5..9) x strides (b, h, s, d), [9] out offset,
//   [10..13) cos offset + strides, [13..16) sin offset + strides, [16] position mode (0 none,
//   1 shared [S], 2 per batch [B, S]), [17] ids offset, [18] S_max, [19] interleaved, [20] sign (f32).
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n = gid.x + gid.y * nwg.x * 256u;
    if (n >= P[0]) { return; }
    let half = P[3];
    let k = n % half;
    let rest = n / half;
    let s = rest % P[2];
    let bh = rest / P[2];
    let h = bh % P[1];
    let b = bh / P[1];
    var pos = s;
    if (P[16] == 1u) { pos = u32(clamp(ld_pos(P[17] + s), 0, i32(P[18]) - 1)); }
    if (P[16] == 2u) { pos = u32(clamp(ld_pos(P[17] + b * P[2] + s), 0, i32(P[18]) - 1)); }
    let c = ld_cos(P[10] + pos * P[11] + k * P[12]);
    let sn = ld_sin(P[13] + pos * P[14] + k * P[15]) * bitcast<f32>(P[20]);
    var i1 = k;
    var i2 = k + half;
    if (P[19] == 1u) {
        i1 = 2u * k;
        i2 = 2u * k + 1u;
    }
    let xb = P[4] + b * P[5] + h * P[6] + s * P[7];
    let a = ld_x(xb + i1 * P[8]);
    let bb = ld_x(xb + i2 * P[8]);
    let ob = P[9] + ((b * P[1] + h) * P[2] + s) * (2u * half);
    st_out(ob + i1, a * c - bb * sn);
    st_out(ob + i2, a * sn + bb * c);
}
