// Legacy GGML formats: decoders of 32-weight chunks, `dec_<fmt>(bo, sub)` -> wv (bytes.wgsl).
// Block layouts (little endian), value of weight j (j < 16: low nibble of qs[j], else high
// nibble of qs[j - 16]):
//   Q4_0 (18 B / 32): f16 d, u8 qs[16];                 d * (q - 8)
//   Q4_1 (20 B / 32): f16 d, f16 m, u8 qs[16];          d * q + m
//   Q5_0 (22 B / 32): f16 d, u32 qh, u8 qs[16];         q |= (qh >> j & 1) << 4; d * (q - 16)
//   Q5_1 (24 B / 32): f16 d, f16 m, u32 qh, u8 qs[16];  d * q + m
//   Q8_0 (34 B / 32): f16 d, i8 qs[32];                 d * q
//   Q8_1 (36 B / 32): f16 d, f16 s (= d * sum q), i8 qs[32];  d * q
//   Q1_0 (18 B / 128): f16 d, u8 qs[16]; bit j (LSB first) set -> +d, else -d; chunk sub = bits 32sub..
// Every product d * q is exact in f32 (an 11-bit half times a <= 6-bit integer), so a compiler
// contracting `d * q + m` into an fma cannot change the result: bit-exact with gguf-py.
// Reference: llama.cpp ggml-quants.c dequantize_row_q4_0 / _q4_1 / _q5_0 / _q5_1 / _q8_0,
// quantize_row_q8_1_ref (layout of block_q8_1), dequantize_row_q1_0; ggml-common.h.

fn fam_init(l: u32) {}

// (no min: `d * (q - off)` alone, since adding +0.0 would turn a -0.0 weight into +0.0)
fn nib_block(q: vec4<u32>, d: f32, m: f32, off: f32, has_min: bool) {
    for (var k = 0u; k < 4u; k = k + 1u) {
        let lo = d * (vec4<f32>(nlo(q[k])) - off);
        let hi = d * (vec4<f32>(nhi(q[k])) - off);
        wv[k] = select(lo, lo + m, has_min);
        wv[k + 4u] = select(hi, hi + m, has_min);
    }
}

fn dec_q4_0(bo: u32, sub: u32) {
    nib_block(rd4(bo + 2u), rd_f16(bo), 0.0, 8.0, false);
}

fn dec_q4_1(bo: u32, sub: u32) {
    nib_block(rd4(bo + 4u), rd_f16(bo), rd_f16(bo + 2u), 0.0, true);
}

fn nib5_block(q: vec4<u32>, qh: u32, d: f32, m: f32, off: f32, has_min: bool) {
    for (var k = 0u; k < 4u; k = k + 1u) {
        let hl = (vec4<u32>(qh) >> (vec4<u32>(0u, 1u, 2u, 3u) + 4u * k)) & vec4<u32>(1u);
        let hh = (vec4<u32>(qh) >> (vec4<u32>(16u, 17u, 18u, 19u) + 4u * k)) & vec4<u32>(1u);
        let lo = d * (vec4<f32>(nlo(q[k]) | (hl << vec4<u32>(4u))) - off);
        let hi = d * (vec4<f32>(nhi(q[k]) | (hh << vec4<u32>(4u))) - off);
        wv[k] = select(lo, lo + m, has_min);
        wv[k + 4u] = select(hi, hi + m, has_min);
    }
}

fn dec_q5_0(bo: u32, sub: u32) {
    nib5_block(rd4(bo + 6u), rd_u32(bo + 2u), rd_f16(bo), 0.0, 16.0, false);
}

fn dec_q5_1(bo: u32, sub: u32) {
    nib5_block(rd4(bo + 8u), rd_u32(bo + 4u), rd_f16(bo), rd_f16(bo + 2u), 0.0, true);
}

fn i8_block(q0: vec4<u32>, q1: vec4<u32>, d: f32) {
    for (var k = 0u; k < 4u; k = k + 1u) {
        wv[k] = i8x4(q0[k]) * d;
        wv[k + 4u] = i8x4(q1[k]) * d;
    }
}

fn dec_q8_0(bo: u32, sub: u32) {
    i8_block(rd4(bo + 2u), rd4(bo + 18u), rd_f16(bo));
}

fn dec_q8_1(bo: u32, sub: u32) {
    i8_block(rd4(bo + 4u), rd4(bo + 20u), rd_f16(bo));
}

fn dec_q1_0(bo: u32, sub: u32) {
    let d = rd_f16(bo);
    let b = rd_u32(bo + 2u + 4u * sub);
    for (var k = 0u; k < 8u; k = k + 1u) {
        let on = ((vec4<u32>(b) >> (vec4<u32>(0u, 1u, 2u, 3u) + 4u * k)) & vec4<u32>(1u)) != vec4<u32>(0u);
        wv[k] = select(vec4<f32>(-d), vec4<f32>(d), on);
    }
}
