// IQ formats: decoders of 32-weight chunks, `dec_<fmt>(bo, sub)` -> wv (bytes.wgsl). Grids,
// ksigns_iq2xs and kvalues_iq4nl are bytes of the table `TB` (gguf-py's tables, uploaded once per
// client; grid rows of 8 (IQ3: 4) int8 values, word aligned). Per group g of 8 weights, sign bit
// t of the group's sign byte negates weight t. Block layouts (little endian, ggml-common.h):
//   IQ2_XXS (66 B):  f16 d, 8 x (u8 grid[4], u32 aux); db = d*(0.5 + aux>>28)*0.25,
//                    signs = ksigns[aux >> 7l & 127], grid iq2xxs_grid
//   IQ2_XS  (74 B):  f16 d, u16 qs[32] (9-bit grid | 7-bit ksigns index), u8 scales[8] (nibbles)
//   IQ2_S   (82 B):  f16 d, u8 qs[32], u8 signs[32], u8 qh[8] (2 high grid bits), u8 scales[8]
//   IQ3_XXS (98 B):  f16 d, u8 qs[64] (iq3xxs_grid of 4), u32 aux[8]; db = d*(0.5 + aux>>28)*0.5
//   IQ3_S   (110 B): f16 d, u8 qs[64], u8 qh[8] (9th grid bit), u8 signs[32], u8 scales[4];
//                    db = d*(1 + 2*nibble)
//   IQ1_S   (50 B):  f16 d, u8 qs[32], u16 qh[8] (3 grid bits x4, 3-bit scale, delta sign);
//                    dl*(grid + delta), dl = d*(2s+1), delta = +-0.125
//   IQ1_M   (56 B):  u8 qs[32], u8 qh[16], u16 scales[4] (3-bit scales; f16 d in the top nibbles)
//   IQ4_NL  (18 B / 32 weights): f16 d, u8 qs[16]; d * kvalues_iq4nl[q]
//   IQ4_XS  (136 B): f16 d, u16 scales_h, u8 scales_l[4], u8 qs[128]; (d*(ls - 32)) * kvalues[q]
// Grid values are small integers, so db * grid is exact: bit-exact with gguf-py.
// Reference: llama.cpp ggml-quants.c dequantize_row_iq2_xxs .. dequantize_row_iq4_xs.

var<workgroup> kv4: array<f32, 16>;

// kvalues_iq4nl into workgroup memory (every kernel calls this, then a barrier)
fn fam_init(l: u32) {
    if (l < 16u) { kv4[l] = f32((bitcast<i32>(tb_u8(TB_KV_IQ4NL + l) << 24u)) >> 24u); }
}

fn kvq(q: vec4<u32>) -> vec4<f32> { return vec4<f32>(kv4[q.x], kv4[q.y], kv4[q.z], kv4[q.w]); }

fn ksign(i: u32) -> u32 { return tb_u8(TB_KSIGNS + i); }

// 8 weights of grid row idx (table at byte off, rows of 8) scaled by db, signs from byte s
fn grid8(k: u32, off: u32, idx: u32, db: f32, s: u32) {
    let w = off / 4u + 2u * idx;
    wv[k] = apply_sign(db * i8x4(TB[w]), s);
    wv[k + 1u] = apply_sign(db * i8x4(TB[w + 1u]), s >> 4u);
}

fn dec_iq2_xxs(bo: u32, sub: u32) {
    let d = rd_f16(bo);
    let g4 = rd_u32(bo + 2u + 8u * sub);
    let aux = rd_u32(bo + 6u + 8u * sub);
    let db = d * (0.5 + f32(aux >> 28u)) * 0.25;
    for (var l = 0u; l < 4u; l = l + 1u) {
        grid8(2u * l, TB_IQ2_XXS, (g4 >> (8u * l)) & 255u, db, ksign((aux >> (7u * l)) & 127u));
    }
}

fn dec_iq2_xs(bo: u32, sub: u32) {
    let d = rd_f16(bo);
    let sc = rd_u8(bo + 66u + sub);
    for (var l = 0u; l < 4u; l = l + 1u) {
        let db = d * (0.5 + f32((sc >> (4u * (l >> 1u))) & 15u)) * 0.25;
        let q = rd_u16(bo + 2u + 8u * sub + 2u * l);
        grid8(2u * l, TB_IQ2_XS, q & 511u, db, ksign(q >> 9u));
    }
}

fn dec_iq2_s(bo: u32, sub: u32) {
    let d = rd_f16(bo);
    let sc = rd_u8(bo + 74u + sub);
    let qh = rd_u8(bo + 66u + sub);
    for (var l = 0u; l < 4u; l = l + 1u) {
        let g = 4u * sub + l;
        let db = d * (0.5 + f32((sc >> (4u * (l >> 1u))) & 15u)) * 0.25;
        let idx = rd_u8(bo + 2u + g) | (((qh >> (2u * l)) & 3u) << 8u);
        grid8(2u * l, TB_IQ2_S, idx, db, rd_u8(bo + 34u + g));
    }
}

// IQ3 halves: 4 weights of grid row idx (rows of 4) into wv[k], signs from the low nibble of s
fn grid4(k: u32, off: u32, idx: u32, db: f32, s: u32) {
    wv[k] = apply_sign(db * i8x4(TB[off / 4u + idx]), s);
}

fn dec_iq3_xxs(bo: u32, sub: u32) {
    let d = rd_f16(bo);
    let aux = rd_u32(bo + 66u + 4u * sub);
    let db = d * (0.5 + f32(aux >> 28u)) * 0.5;
    let q0 = rd_u32(bo + 2u + 8u * sub);
    let q1 = rd_u32(bo + 6u + 8u * sub);
    for (var l = 0u; l < 4u; l = l + 1u) {
        let s = ksign((aux >> (7u * l)) & 127u);
        let q = select(q1, q0, l < 2u) >> (16u * (l & 1u));
        grid4(2u * l, TB_IQ3_XXS, q & 255u, db, s);
        grid4(2u * l + 1u, TB_IQ3_XXS, (q >> 8u) & 255u, db, s >> 4u);
    }
}

fn dec_iq3_s(bo: u32, sub: u32) {
    let d = rd_f16(bo);
    let db = d * f32(1u + 2u * ((rd_u8(bo + 106u + (sub >> 1u)) >> (4u * (sub & 1u))) & 15u));
    let qh = rd_u8(bo + 66u + sub);
    for (var l = 0u; l < 4u; l = l + 1u) {
        let s = rd_u8(bo + 74u + 4u * sub + l);
        let k = 2u * l;
        let i0 = rd_u8(bo + 2u + 8u * sub + k) | (((qh >> k) & 1u) << 8u);
        let i1 = rd_u8(bo + 3u + 8u * sub + k) | (((qh >> (k + 1u)) & 1u) << 8u);
        grid4(k, TB_IQ3_S, i0, db, s);
        grid4(k + 1u, TB_IQ3_S, i1, db, s >> 4u);
    }
}

// 8 weights dl * (grid + delta) of iq1s_grid row idx
fn grid1(k: u32, idx: u32, dl: f32, delta: f32) {
    let w = TB_IQ1_S / 4u + 2u * idx;
    wv[k] = dl * (i8x4(TB[w]) + delta);
    wv[k + 1u] = dl * (i8x4(TB[w + 1u]) + delta);
}

fn dec_iq1_s(bo: u32, sub: u32) {
    let d = rd_f16(bo);
    let qh = rd_u16(bo + 34u + 2u * sub);
    let dl = d * f32(2u * ((qh >> 12u) & 7u) + 1u);
    let delta = select(0.125, -0.125, (qh & 0x8000u) != 0u);
    let q = rd_u32(bo + 2u + 4u * sub);
    for (var l = 0u; l < 4u; l = l + 1u) {
        grid1(2u * l, ((q >> (8u * l)) & 255u) | (((qh >> (3u * l)) & 7u) << 8u), dl, delta);
    }
}

fn dec_iq1_m(bo: u32, sub: u32) {
    let s01 = rd_u32(bo + 48u);
    let s23 = rd_u32(bo + 52u);
    let dh = ((s01 >> 12u) & 0xfu) | ((s01 >> 24u) & 0xf0u) | ((s23 >> 4u) & 0xf00u) | ((s23 >> 16u) & 0xf000u);
    let d = f16v(dh);
    let sw = rd_u16(bo + 48u + 2u * (sub >> 1u));
    let q = rd_u32(bo + 4u * sub);
    let qh2 = rd_u16(bo + 32u + 2u * sub);
    for (var l = 0u; l < 4u; l = l + 1u) {
        let s = 2u * sub + (l >> 1u);
        let dl = d * f32(2u * ((sw >> (3u * (s & 3u))) & 7u) + 1u);
        let qh = (qh2 >> (4u * l)) & 15u;
        let delta = select(0.125, -0.125, (qh & 8u) != 0u);
        grid1(2u * l, ((q >> (8u * l)) & 255u) | ((qh & 7u) << 8u), dl, delta);
    }
}

fn dec_iq4_nl(bo: u32, sub: u32) {
    let d = rd_f16(bo);
    let q = rd4(bo + 2u);
    for (var k = 0u; k < 4u; k = k + 1u) {
        wv[k] = d * kvq(nlo(q[k]));
        wv[k + 4u] = d * kvq(nhi(q[k]));
    }
}

fn dec_iq4_xs(bo: u32, sub: u32) {
    let d = rd_f16(bo);
    let sh = rd_u16(bo + 2u);
    let ls = ((rd_u8(bo + 4u + (sub >> 1u)) >> (4u * (sub & 1u))) & 15u) | (((sh >> (2u * sub)) & 3u) << 4u);
    let dl = d * f32(i32(ls) - 32);
    let q = rd4(bo + 8u + 16u * sub);
    for (var k = 0u; k < 4u; k = k + 1u) {
        wv[k] = dl * kvq(nlo(q[k]));
        wv[k + 4u] = dl * kvq(nhi(q[k]));
    }
}
