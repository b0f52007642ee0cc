// KV-cache int4 dequantization (inverse of int4_quant.wgsl, as the generic composite):
//   out[r, d] = q[r, d] * scale[r, d / G] + zero[r, d / G], rounded into out's dtype, where q is the
//   low nibble of byte d / 2 for even d and the high nibble for odd d. The product and the sum are
//   separate f32 roundings, as on the CPU (a driver contracting them into an fma may differ by 1 ulp).
// Layout: data [R, D / 2] u8 (four bytes per u32 word, contiguous), scale and zero [R, D / G] f32,
//   out [R, D] contiguous. One thread per output element.
// P: [0] n = R D, [1] G, [2] data offset (bytes), [3] scale offset, [4] zero offset, [5] out offset.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 256u;
    if (e >= P[0]) { return; }
    let q = (ld_data(P[2] + e / 2u) >> ((e & 1u) * 4u)) & 15u;
    let g = e / P[1];
    let p = f32(q) * ld_scale(P[3] + g);
    st_out(P[5] + e, p + ld_zero(P[4] + g));
}
