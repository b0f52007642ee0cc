// K-quants (256-weight super-blocks) and Q8_K: decoders of 32-weight chunks, `dec_<fmt>(bo, sub)`
// -> wv (bytes.wgsl); chunk sub = weights 32sub .. 32sub+31, e = weight, j = e % 32, g = e / 16.
// Block layouts (little endian, ggml-common.h):
//   Q2_K (84 B):  u8 scales[16] (lo nibble scale, hi nibble min), u8 qs[64], f16 d, f16 dmin;
//                 q = qs[32*(sub/4) + j] >> 2*(sub%4) & 3;       (d*sc[g]) * q - (dmin*mn[g])
//   Q3_K (110 B): u8 hmask[32], u8 qs[64], u8 scales[12] (16 x 6 bit), f16 d;
//                 q = (2 bits as Q2_K) - (hmask[j] >> sub & 1 ? 0 : 4);  (d*(sc[g]-32)) * q
//   Q4_K (144 B): f16 d, f16 dmin, u8 scales[12] (8 x 6-bit scale, 8 x 6-bit min), u8 qs[128];
//                 q = qs[32*(sub/2) + j] >> 4*(sub%2) & 15;      (d*sc[sub]) * q - (dmin*mn[sub])
//   Q5_K (176 B): as Q4_K with u8 qh[32] before qs; q |= (qh[j] >> sub & 1) << 4
//   Q6_K (210 B): u8 ql[128], u8 qh[64], i8 scales[16], f16 d;
//                 ql = ql[64*(sub/4) + 32*(sub%2) + j] >> 4*(sub/2%2) & 15,
//                 qh = qh[32*(sub/4) + j] >> 2*(sub%4) & 3;      (d*sc[g]) * ((ql | qh << 4) - 32)
//   Q8_K (292 B): f32 d, i8 qs[256], i16 bsums[16];              d * q
// Products of a half by 6- or 8-bit scales and small quants are exact in f32, so fma
// contraction cannot change a weight: bit-exact with gguf-py.
// Reference: llama.cpp ggml-quants.c dequantize_row_q2_K .. dequantize_row_q6_K, get_scale_min_k4.

fn fam_init(l: u32) {}

// 6-bit (scale, min) j of the 12 packed bytes s0|s1|s2 (get_scale_min_k4)
fn kscale(s0: u32, s1: u32, s2: u32, j: u32) -> vec2<u32> {
    if (j < 4u) {
        let sh = 8u * j;
        return vec2<u32>((s0 >> sh) & 63u, (s1 >> sh) & 63u);
    }
    let sh = 8u * (j - 4u);
    let b = (s2 >> sh) & 255u;
    return vec2<u32>((b & 15u) | (((s0 >> sh) >> 6u) << 4u), (b >> 4u) | (((s1 >> sh) >> 6u) << 4u)) & vec2<u32>(63u);
}

fn dec_q2_k(bo: u32, sub: u32) {
    let dd = rd_u32(bo + 80u);
    let d = f16v(dd & 0xffffu);
    let dmin = f16v(dd >> 16u);
    let sc = rd_u16(bo + 2u * sub);
    let dl0 = d * f32(sc & 15u);
    let ml0 = dmin * f32((sc >> 4u) & 15u);
    let dl1 = d * f32((sc >> 8u) & 15u);
    let ml1 = dmin * f32(sc >> 12u);
    let qo = bo + 16u + 32u * (sub >> 2u);
    let sh = 2u * (sub & 3u);
    let q0 = rd4(qo);
    let q1 = rd4(qo + 16u);
    for (var k = 0u; k < 4u; k = k + 1u) {
        wv[k] = dl0 * vec4<f32>(crumbs(q0[k], sh)) - ml0;
        wv[k + 4u] = dl1 * vec4<f32>(crumbs(q1[k], sh)) - ml1;
    }
}

// signed 6-bit scale g of Q3_K's 12 packed bytes at byte so
fn q3k_scale(so: u32, g: u32) -> f32 {
    var lo: u32;
    if (g < 8u) { lo = rd_u8(so + g) & 15u; } else { lo = rd_u8(so + g - 8u) >> 4u; }
    let hi = (rd_u8(so + 8u + (g & 3u)) >> (2u * (g >> 2u))) & 3u;
    return f32(i32(lo | (hi << 4u)) - 32);
}

fn dec_q3_k(bo: u32, sub: u32) {
    let d = rd_f16(bo + 108u);
    let dl0 = d * q3k_scale(bo + 96u, 2u * sub);
    let dl1 = d * q3k_scale(bo + 96u, 2u * sub + 1u);
    let qo = bo + 32u + 32u * (sub >> 2u);
    let sh = 2u * (sub & 3u);
    let q0 = rd4(qo);
    let q1 = rd4(qo + 16u);
    let h0 = rd4(bo);
    let h1 = rd4(bo + 16u);
    for (var k = 0u; k < 4u; k = k + 1u) {
        let a = vec4<i32>(crumbs(q0[k], sh)) - 4 * vec4<i32>(1u - bits4(h0[k], sub));
        let b = vec4<i32>(crumbs(q1[k], sh)) - 4 * vec4<i32>(1u - bits4(h1[k], sub));
        wv[k] = dl0 * vec4<f32>(a);
        wv[k + 4u] = dl1 * vec4<f32>(b);
    }
}

fn dec_q45_k(bo: u32, sub: u32, five: bool) {
    let dd = rd_u32(bo);
    let d = f16v(dd & 0xffffu);
    let dmin = f16v(dd >> 16u);
    let sm = kscale(rd_u32(bo + 4u), rd_u32(bo + 8u), rd_u32(bo + 12u), sub);
    let d1 = d * f32(sm.x);
    let m1 = dmin * f32(sm.y);
    let qo = select(bo + 16u, bo + 48u, five) + 32u * (sub >> 1u);
    let sh = vec4<u32>(4u * (sub & 1u));
    let q0 = rd4(qo);
    let q1 = rd4(qo + 16u);
    var h0 = vec4<u32>(0u);
    var h1 = vec4<u32>(0u);
    if (five) {
        h0 = rd4(bo + 16u);
        h1 = rd4(bo + 32u);
    }
    for (var k = 0u; k < 4u; k = k + 1u) {
        let a = ((bytes4(q0[k]) >> sh) & vec4<u32>(15u)) | (bits4(h0[k], sub) << vec4<u32>(4u));
        let b = ((bytes4(q1[k]) >> sh) & vec4<u32>(15u)) | (bits4(h1[k], sub) << vec4<u32>(4u));
        wv[k] = d1 * vec4<f32>(a) - m1;
        wv[k + 4u] = d1 * vec4<f32>(b) - m1;
    }
}

fn dec_q4_k(bo: u32, sub: u32) { dec_q45_k(bo, sub, false); }

fn dec_q5_k(bo: u32, sub: u32) { dec_q45_k(bo, sub, true); }

fn dec_q6_k(bo: u32, sub: u32) {
    let d = rd_f16(bo + 208u);
    let dl0 = d * f32(rd_i8(bo + 192u + 2u * sub));
    let dl1 = d * f32(rd_i8(bo + 193u + 2u * sub));
    let lo = bo + 64u * (sub >> 2u) + 32u * (sub & 1u);
    let lsh = vec4<u32>(4u * ((sub >> 1u) & 1u));
    let ho = bo + 128u + 32u * (sub >> 2u);
    let hsh = 2u * (sub & 3u);
    let l0 = rd4(lo);
    let l1 = rd4(lo + 16u);
    let h0 = rd4(ho);
    let h1 = rd4(ho + 16u);
    for (var k = 0u; k < 4u; k = k + 1u) {
        let a = vec4<i32>(((bytes4(l0[k]) >> lsh) & vec4<u32>(15u)) | (crumbs(h0[k], hsh) << vec4<u32>(4u))) - 32;
        let b = vec4<i32>(((bytes4(l1[k]) >> lsh) & vec4<u32>(15u)) | (crumbs(h1[k], hsh) << vec4<u32>(4u))) - 32;
        wv[k] = dl0 * vec4<f32>(a);
        wv[k + 4u] = dl1 * vec4<f32>(b);
    }
}

fn dec_q8_k(bo: u32, sub: u32) {
    let d = bitcast<f32>(rd_u32(bo));
    let q0 = rd4(bo + 4u + 32u * sub);
    let q1 = rd4(bo + 20u + 32u * sub);
    for (var k = 0u; k < 4u; k = k + 1u) {
        wv[k] = d * i8x4(q0[k]);
        wv[k + 4u] = d * i8x4(q1[k]);
    }
}
