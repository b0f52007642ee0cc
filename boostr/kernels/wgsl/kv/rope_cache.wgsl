// Fused RoPE + paged KV-cache write (Su et al. 2021, "RoFormer"; Kwon et al. 2023, "PagedAttention",
// reshape_and_cache): token t = b * S + s of the fused projection qkv holds H q heads, Hkv k heads and
// Hkv v heads of D. At table row p = pos[b, s] (clamped into [0, S_max)) a q/k pair (x0, x1) becomes
//   (x0 cos[p, k] - x1 sin[p, k], x0 sin[p, k] + x1 cos[p, k])   (f32, rounded once on store)
// over split-half pairs (k, k + D/2) (HF rotate_half) or interleaved pairs (2k, 2k + 1) (GGUF normal).
// q heads go to q[b, h, s, :]; rotated k heads and raw v heads go to row slot = slots[t] of the blocks
// (slot < 0 skips the token's k and v; a slot past the cache is clamped to its last row, the GPU policy).
// Layout: qkv [B, S, (H + 2 Hkv) D] at any element strides; cos, sin [S_max, D/2] at any strides;
//   pos i32 [S] (P[17] == 0) or [B, S] (P[17] == S); slots [B * S] i32; q [B, H, S, D] contiguous;
//   kb, vb [N, bs, Hkv, D] contiguous (row slot = [N * bs, Hkv * D]). One thread per (token, head, pair);
//   v threads copy elements (2k, 2k + 1).
// P: [0] threads, [1] threads per token (H + 2 Hkv) D/2, [2] D/2, [3] H, [4] Hkv, [5] S, [6] qkv offset,
//   [7..10) qkv strides (b, s, e), [10] cos offset, [11..13) cos strides, [13] sin offset,
//   [14..16) sin strides, [16] pos offset, [17] pos batch stride, [18] S_max, [19] slots offset,
//   [20] N bs, [21] kb offset, [22] vb offset, [23] q offset, [24] interleaved.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n = gid.x + gid.y * nwg.x * 256u;
    if (n >= P[0]) { return; }
    let half = P[2];
    let d = 2u * half;
    let nq = P[3];
    let nkv = P[4];
    let tok = n / P[1];
    let r = n % P[1];
    let hh = r / half;
    let k = r % half;
    let b = tok / P[5];
    let s = tok % P[5];
    let xb = P[6] + b * P[7] + s * P[8] + hh * d * P[9];
    var row = 0u;
    if (hh >= nq) {  // k or v: the token's cache row
        let slot = ld_slots(P[19] + tok);
        if (slot < 0) { return; }
        row = min(u32(slot), P[20] - 1u);
    }
    if (hh >= nq + nkv) {  // v: raw copy of elements (2k, 2k + 1)
        let o = P[22] + row * nkv * d + (hh - nq - nkv) * d + 2u * k;
        st_vb(o, ld_qkv(xb + 2u * k * P[9]));
        st_vb(o + 1u, ld_qkv(xb + (2u * k + 1u) * P[9]));
        return;
    }
    let p = u32(clamp(ld_pos(P[16] + b * P[17] + s), 0, i32(P[18]) - 1));
    let c = ld_cos(P[10] + p * P[11] + k * P[12]);
    let sn = ld_sin(P[13] + p * P[14] + k * P[15]);
    var i0 = k;
    var i1 = k + half;
    if (P[24] == 1u) {
        i0 = 2u * k;
        i1 = 2u * k + 1u;
    }
    let a = ld_qkv(xb + i0 * P[9]);
    let bb = ld_qkv(xb + i1 * P[9]);
    let o0 = a * c - bb * sn;
    let o1 = a * sn + bb * c;
    if (hh < nq) {
        let ob = P[23] + ((b * nq + hh) * P[5] + s) * d;
        st_q(ob + i0, o0);
        st_q(ob + i1, o1);
        return;
    }
    let ob = P[21] + row * nkv * d + (hh - nq) * d;
    st_kb(ob + i0, o0);
    st_kb(ob + i1, o1);
}
