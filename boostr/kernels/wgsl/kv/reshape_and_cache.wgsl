// Paged KV-cache write (vLLM's reshape_and_cache, Kwon et al. 2023, "Efficient Memory Management for
// Large Language Model Serving with PagedAttention"): token t of k, v goes to slot s = slot[t]
//   kb[s, :, :] = k[t, :, :], vb[s, :, :] = v[t, :, :]   (cast to the blocks' dtype; s < 0 skips;
//   s past the cache is clamped to its last slot, the GPU index policy).
// Layout: k, v [T, Hkv, D] at any element strides; kb, vb [N, bs, Hkv, D] contiguous (slot s = block
//   * bs + offset is row s of [N * bs, Hkv * D]); slots [T] i32. One thread per element of [T, Hkv * D].
// P: [0] T Hkv D, [1] Hkv D, [2] D, [3] k offset, [4..7) k strides (t, h, d), [7] v offset,
//   [8..11) v strides, [11] slots offset, [12] N bs, [13] kb offset, [14] vb offset.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 256u;
    if (e >= P[0]) { return; }
    let t = e / P[1];
    let r = e % P[1];
    let slot = ld_slots(P[11] + t);
    if (slot < 0) { return; }
    let row = min(u32(slot), P[12] - 1u);
    let hh = r / P[2];
    let d = r % P[2];
    st_kb(P[13] + row * P[1] + r, ld_k(P[3] + t * P[4] + hh * P[5] + d * P[6]));
    st_vb(P[14] + row * P[1] + r, ld_v(P[7] + t * P[8] + hh * P[9] + d * P[10]));
}
