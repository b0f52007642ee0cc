// Quantize f32 activations to Q8_0 / Q8_1 blocks (the activation formats of the quantized matmul).
//   Q8_0 (34 B / 32): f16 d, i8 qs[32];  Q8_1 (36 B / 32): f16 d, f16 s, i8 qs[32]
//   amax = max |x|, d = amax / 127, id = d ? 1 / d : 0, q = roundf(x * id) (half away from zero),
//   Q8_1 also s = f16(f32(sum q) * d); halves rounded to nearest even.
// One thread per group of BPG blocks whose bytes fill whole u32 words (Q8_0: 2 blocks = 17 words,
// Q8_1: 1 block = 9 words), so no two threads write one word; bytes past the stream's end stay 0.
// Divisions are correctly rounded (quotient corrected by its fma residual), as in C: bit-exact
// with llama.cpp's reference and gguf-py.
// Layout: x f32 [blocks * 32] (flat rows), Q the block byte stream as u32 words.
// P: [0] groups in this dispatch, [1] x offset of its first group, [2] word offset of its first
// group in Q, [3] blocks in this dispatch, [4] words in this dispatch.
// Reference: llama.cpp ggml-quants.c quantize_row_q8_0_ref, quantize_row_q8_1_ref.
${DECLS}

@group(0) @binding(0) var<storage, read> P: array<u32, 64>;
const BPG: u32 = ${BPG}u;
const WPG: u32 = ${WPG}u;
const BB: u32 = ${BB}u;
const QO: u32 = ${QO}u;
const HAS_SUM: bool = ${HAS_SUM};

var<private> acc: array<u32, WPG>;

fn put8(o: u32, v: u32) { acc[o >> 2u] = acc[o >> 2u] | ((v & 0xffu) << ((o & 3u) * 8u)); }

fn put16(o: u32, v: u32) {
    put8(o, v);
    put8(o + 1u, v >> 8u);
}

// a / b rounded to nearest (a, b >= 0 finite, b > 0): the candidate with the smallest residual
fn div_rn(a: f32, b: f32) -> f32 {
    let q = a / b;
    let up = bitcast<f32>(bitcast<u32>(q) + 1u);
    let dn = bitcast<f32>(max(bitcast<u32>(q), 1u) - 1u);
    var best = q;
    var r = abs(fma(-q, b, a));
    let ru = abs(fma(-up, b, a));
    if (ru < r) { best = up; r = ru; }
    if (abs(fma(-dn, b, a)) < r) { best = dn; }
    return best;
}

// GGML_FP32_TO_FP16: round to nearest even, overflow to inf
fn f16_bits(v: f32) -> u32 {
    let u = bitcast<u32>(v);
    let s = (u >> 16u) & 0x8000u;
    let a = u & 0x7fffffffu;
    if (a > 0x7f800000u) { return s | 0x7e00u; }
    if (a >= 0x477ff000u) { return s | 0x7c00u; }
    if (a < 0x38800000u) { return s | u32(round(bitcast<f32>(a) * 16777216.0)); }
    var h = (((a >> 23u) - 112u) << 10u) | ((a >> 13u) & 0x3ffu);
    let rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)) { h = h + 1u; }
    return s | h;
}

fn roundf(v: f32) -> i32 {
    let a = abs(v);
    let fl = floor(a);
    let b = i32(fl + floor(2.0 * (a - fl)));
    return select(b, -b, v < 0.0);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = gid.x + gid.y * nwg.x * 64u;
    if (g >= P[0]) { return; }
    for (var w = 0u; w < WPG; w = w + 1u) { acc[w] = 0u; }
    for (var i = 0u; i < BPG; i = i + 1u) {
        let b = g * BPG + i;
        if (b >= P[3]) { break; }
        let xo = P[1] + b * 32u;
        var amax = 0.0;
        for (var j = 0u; j < 32u; j = j + 1u) { amax = max(amax, abs(ld_x(xo + j))); }
        let d = div_rn(amax, 127.0);
        var id = 0.0;
        if (d != 0.0) { id = div_rn(1.0, d); }
        let o = i * BB;
        put16(o, f16_bits(d));
        var sum = 0;
        for (var j = 0u; j < 32u; j = j + 1u) {
            let q = roundf(ld_x(xo + j) * id);
            sum = sum + q;
            put8(o + QO + j, bitcast<u32>(q));
        }
        if (HAS_SUM) { put16(o + 2u, f16_bits(f32(sum) * d)); }
    }
    for (var w = 0u; w < WPG; w = w + 1u) {
        if (g * WPG + w < P[4]) { Q[P[2] + g * WPG + w] = acc[w]; }
    }
}
