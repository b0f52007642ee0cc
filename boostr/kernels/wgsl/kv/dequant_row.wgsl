// KV-cache dequantization per token row (inverse of quant_row.wgsl, as the generic composite):
//   out[r, d] = f32(code[r, d]) * scale[r], rounded into out's dtype (fp8 e4m3 codes decode per the
//   OCP OFP8 spec rev 1.0, int8 codes are the signed byte). One product: bit-exact with the CPU.
// Layout: data [R, D] one-byte codes packed four per u32 word (contiguous), scale [R] f32, out [R, D]
//   contiguous. One thread per element.
// P: [0] R D, [1] D, [2] data offset, [3] scale offset, [4] out offset.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 256u;
    if (e >= P[0]) { return; }
    st_out(P[4] + e, f32(ld_data(P[2] + e)) * ld_scale(P[3] + e / P[1]));
}
