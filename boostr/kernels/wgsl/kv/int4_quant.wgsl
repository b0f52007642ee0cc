// KV-cache int4 quantization per group of G (32, 64 or 128) elements of a token row, asymmetric
// (as boostr/ops/generic/kv_cache_quant.py, bit for bit):
//   zero = min(x_g), scale = (max(x_g) - zero) / 15 (1 if 0), q = clamp(rint((x - zero) / scale), 0, 15)
// rint rounds half to even; f32 arithmetic with correctly rounded divisions (fdiv_rn), so codes equal
// the CPU's. Reference: KIVI / llama.cpp q4_1-style asymmetric 4-bit with per-group min and scale.
// Layout: x [R, D] contiguous (any float dtype; D % G == 0), scale and zero [R, D / G] f32, data
//   [R, D / 2] u8: element 2i in the low nibble and 2i + 1 in the high nibble of byte i, so u32 word w
//   of the byte stream holds elements 8 w .. 8 w + 7 at bits 4 (e % 8). One thread per word: 256
//   words (a whole number of groups) per workgroup; each thread loads its 8 elements, the group's
//   min / max are combined in workgroup memory, and the word is stored whole (no atomics).
// P: [0] W words (R D / 8), [1] x offset, [2] scale offset, [3] zero offset, [4] data word offset.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
const G: u32 = ${G}u;
const GW: u32 = G / 8u;  // words per group
var<workgroup> smn: array<f32, 256>;
var<workgroup> smx: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = (wid.x + wid.y * nwg.x) * 256u + lid;
    let live = w < P[0];
    var v: array<f32, 8>;
    var mn = bitcast<f32>(0x7f800000u);
    var mx = -bitcast<f32>(0x7f800000u);
    if (live) {
        for (var i = 0u; i < 8u; i = i + 1u) {
            v[i] = ld_x(P[1] + 8u * w + i);
            mn = min(mn, v[i]);
            mx = max(mx, v[i]);
        }
    }
    smn[lid] = mn;
    smx[lid] = mx;
    workgroupBarrier();
    if (!live) { return; }
    let g0 = lid - lid % GW;
    for (var k = 0u; k < GW; k = k + 1u) {
        mn = min(mn, smn[g0 + k]);
        mx = max(mx, smx[g0 + k]);
    }
    var scale = fdiv_rn(mx - mn, 15.0);
    if (scale == 0.0) { scale = 1.0; }
    if (lid % GW == 0u) {
        st_scale(P[2] + w / GW, scale);
        st_zero(P[3] + w / GW, mn);
    }
    var word = 0u;
    for (var i = 0u; i < 8u; i = i + 1u) {
        let q = clamp(round(fdiv_rn(v[i] - mn, scale)), 0.0, 15.0);
        word = word | (u32(q) << (4u * i));
    }
    data[P[4] + w] = word;
}
